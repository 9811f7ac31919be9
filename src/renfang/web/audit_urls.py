from django.urls import path

from renfang.web.views import audit as views

app_name = "audit"

urlpatterns = [
    path("", views.audit_events, name="events"),
    path("events.xlsx", views.audit_events_export, name="events_export"),
    path(
        "records/<slug:record_type>/<path:record_id>/",
        views.audit_record_events,
        name="record",
    ),
]
