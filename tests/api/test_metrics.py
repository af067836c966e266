import os
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from domain.catalogue import Catalogue
from tests.support import AppHarness, running_app

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
ROOT = Path(__file__).resolve().parent.parent.parent


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(api: AppHarness) -> Samples:
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_parse_and_name_every_promised_series(api: AppHarness) -> None:
    await api.graphql('{ microService(slug: "wall-painting") { id } }')
    names = {name for name, _ in await scrape(api)}
    for expected in (
        "jobwizard_lookup_latency_seconds_bucket",
        "jobwizard_lookup_cache_total",
        "jobwizard_lookup_fallbacks_total",
        "jobwizard_lookup_breaker_state",
        "jobwizard_lookup_events_written_total",
        "jobwizard_lookup_events_dropped_total",
        "jobwizard_lookup_event_buffer_events",
        "jobwizard_db_queries_total",
        "jobwizard_graphql_request_duration_seconds_count",
    ):
        assert expected in names, expected


async def test_counters_move_with_traffic(database_url: str, catalogue: Catalogue) -> None:
    slugs = sorted(catalogue.by_slug)[:20]
    # A cold cache: the first request misses all 20 slugs (one SQL), the next two hit.
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, cache_warm_up=False
    ) as api:
        before = await scrape(api)
        for _ in range(3):
            body = await api.graphql(
                "query Lookup20($s: [String!]) { microServices(slugs: $s) { id } }", {"s": slugs}
            )
            assert len(body["data"]["microServices"]) == 20
        bad = await api.graphql("query Broken { microService { id } }")  # missing argument
        assert bad["errors"]
        after = await scrape(api)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("jobwizard_lookup_latency_seconds_count") == 60
    assert moved("jobwizard_lookup_cache_total", result="miss") == 20
    assert moved("jobwizard_lookup_cache_total", result="hit") == 40
    assert (
        moved(
            "jobwizard_db_queries_total", query="SELECT_MICRO_SERVICES_BY_SLUGS", outcome="success"
        )
        == 1
    )
    assert (
        moved(
            "jobwizard_graphql_request_duration_seconds_count",
            operation="Lookup20",
            outcome="success",
        )
        == 3
    )
    assert (
        moved(
            "jobwizard_graphql_request_duration_seconds_count", operation="Broken", outcome="error"
        )
        == 1
    )
    assert value(after, "jobwizard_lookup_breaker_state", state="closed") == 1
    assert value(after, "jobwizard_lookup_breaker_state", state="open") == 0


def test_multiprocess_mode_sums_the_workers(tmp_path: Path) -> None:
    """Two worker processes count lookups; a third renders /metrics' text: the sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    worker = textwrap.dedent(
        """
        import sys
        from monitoring import metrics
        metrics.EVENTS_WRITTEN.inc(int(sys.argv[1]))
        """
    )
    for count in ("3", "4"):
        subprocess.run([sys.executable, "-c", worker, count], env=env, cwd=ROOT, check=True)
    render = "from monitoring import metrics; print(metrics.render()[0].decode())"
    out = subprocess.run(
        [sys.executable, "-c", render],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    samples = parse(out)
    assert value(samples, "jobwizard_lookup_events_written_total") == 7


async def test_searches_are_counted_by_what_ranked_them(api: AppHarness) -> None:
    before = await scrape(api)
    query = "query($t: String!) { searchServices(text: $t) { score } }"
    for text in ("boilr servise", "fuse box keeps tripping", "   "):  # blank: not a search
        assert "errors" not in await api.graphql(query, {"t": text})
    after = await scrape(api)
    # The model is off in tests: keywords rank every search.
    counted = value(after, "jobwizard_searches_total", answered_by="keywords") - value(
        before, "jobwizard_searches_total", answered_by="keywords"
    )
    assert counted == 2
