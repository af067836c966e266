from search.text import STOP_WORDS, fold, tokens, words


def test_punctuation_case_and_accents_are_folded_and_apostrophes_dropped() -> None:
    assert fold("Loo WON'T flush — properly!!") == "loo wont flush properly"
    assert fold("Café   façade") == "cafe facade"


def test_american_spellings_meet_the_british_ones() -> None:
    assert tokens("moldy color") == tokens("mouldy colour")
    assert tokens("drafty windows") == tokens("draughty windows")
    assert tokens("organize my closet") == tokens("organise my closet")
    # "size" ends in -ize but is not an American spelling of anything.
    assert words("king size bed") == ["king", "size", "bed"]


def test_stop_words_go_but_symptom_words_stay() -> None:
    assert tokens("I need someone to fix my tap please") == ["fix", "tap"]
    assert "no" not in STOP_WORDS
    assert "not" not in STOP_WORDS
    assert tokens("no hot water") == ["no", "hot", "water"]


def test_plurals_and_verb_forms_share_a_stem() -> None:
    assert tokens("dripping taps") == tokens("drip tap")
    assert tokens("leaking pipes") == tokens("leak pipe")
