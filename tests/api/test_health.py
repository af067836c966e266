from tests.support import AppHarness


async def test_health_reports_database_and_catalogue(api: AppHarness) -> None:
    response = await api.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"reachable": True}
    assert body["catalogue"]["microServices"] >= 120
