"""Silences from the UI (reviewers within their departments) and the notification log page."""

from alerts.silences import list_active
from store.models import utcnow
from tests.web_fixtures import csrf_of


def test_reviewer_silences_own_department_only(world, client_for):
    c = client_for("fin")
    page = c.get("/silences").get_data(as_text=True)
    other = c.post("/silences", data={"_csrf": csrf_of(page), "department": "customer_service",
                                      "hours": "2", "comment": "x"})
    assert other.status_code == 400 and "审核员只能静默本部门的异常" in other.get_data(as_text=True)
    ok = c.post("/silences", data={"_csrf": csrf_of(page), "department": "finance", "store_id": "S1",
                                   "hours": "2", "comment": "盘点"})
    assert ok.status_code == 302
    (s,) = list_active(world.store.engine, utcnow())
    assert s["matchers"] == {"department": "finance", "store_id": "S1"} and s["created_by"] == "fin"
    assert c.post(f"/silences/{s['id']}/expire", data={"_csrf": csrf_of(page)}).status_code == 302
    assert list_active(world.store.engine, utcnow()) == []


def test_who_may_see_silences_and_the_log(client_for):
    assert client_for("mgr1").get("/silences").status_code == 403
    assert client_for("author").get("/silences").status_code == 403
    assert client_for("fin").get("/notifications").status_code == 403
    assert client_for("admin").get("/notifications").status_code == 200
