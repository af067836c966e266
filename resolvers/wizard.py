"""wizardQuestions: the questions for a selection path, with the micro service's UUID."""

from __future__ import annotations

from api.context import Info
from domain.errors import BadUserInputError
from loaders.errors import LookupUnavailableError, MicroServiceNotFoundError
from schema.types import Question, WizardQuestions


async def wizard_questions(info: Info, categories: list[str]) -> WizardQuestions:
    if not categories:
        raise BadUserInputError(
            "'categories' must end with a micro service slug, e.g. "
            '["painting", "interior", "wall-painting"].'
        )
    slug = categories[-1]
    spec = info.context.services.catalogue.micro_service(slug)
    if spec is None:
        raise MicroServiceNotFoundError(slug)
    expected = [spec.category, spec.subcategory][: len(categories) - 1]
    if len(categories) > 3 or categories[:-1] != expected:
        raise BadUserInputError(
            f"'{slug}' is found at {[spec.category, spec.subcategory, slug]}, not at {categories}."
        )
    try:
        record = await info.context.loaders.micro_services.load(slug)
        degraded = False
    except LookupUnavailableError:
        # The questions come from the catalogue file, so the wizard goes on without the UUID.
        record, degraded = None, True
    return WizardQuestions(
        micro_id=slug,
        micro_uuid=None if record is None else record.id,
        degraded=degraded,
        name=spec.name,
        questions=[Question.from_spec(q) for q in spec.questions],
    )
