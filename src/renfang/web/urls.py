from django.urls import path

from renfang.web.views import (
    areas,
    conflicts,
    feeds,
    houses,
    identities,
    people,
    search,
    sources,
    subscriptions,
    webhooks,
)

app_name = "web"

urlpatterns = [
    path("", search.home, name="home"),
    path("search/", search.search, name="search"),
    path("search/people.xlsx", search.search_people_export, name="search_people_export"),
    path("search/houses.xlsx", search.search_houses_export, name="search_houses_export"),
    path("people/<int:person_id>/", people.person_detail, name="person_detail"),
    path("people/<int:person_id>/reveal/", people.person_reveal, name="person_reveal"),
    path("people/<int:person_id>/merge/", identities.person_merge_view, name="person_merge"),
    path("people/<int:person_id>/split/", identities.person_split_view, name="person_split"),
    path("houses/<str:house_code>/", houses.house_detail, name="house_detail"),
    path("areas/<str:code>/", areas.area_detail, name="area_detail"),
    path("areas/<str:code>/subareas.xlsx", areas.area_subareas_export, name="area_subareas_export"),
    # Sources, their mappings, imports and unmapped codes (manages_sources).
    path("sources/", sources.sources_list_page, name="sources_list"),
    path("sources/sources.xlsx", sources.sources_export, name="sources_export"),
    path("sources/unmapped/", sources.unmapped_codes, name="unmapped_codes"),
    path("sources/unmapped.xlsx", sources.unmapped_codes_export, name="unmapped_codes_export"),
    path("sources/<slug:code>/", sources.source_detail, name="source_detail"),
    path(
        "sources/<slug:code>/mapping/",
        sources.source_mapping_update,
        name="source_mapping_update",
    ),
    # The review queue of identity resolution (resolves_identities).
    path("review/", identities.review_list, name="review_list"),
    path("review/pairs.xlsx", identities.review_export, name="review_export"),
    path("review/<int:pair_id>/", identities.review_detail, name="review_detail"),
    path("review/<int:pair_id>/decide/", identities.review_decide_view, name="review_decide"),
    # Conflicts between sources (settles_conflicts).
    path("conflicts/", conflicts.conflicts_list, name="conflicts_list"),
    path("conflicts/conflicts.xlsx", conflicts.conflicts_export, name="conflicts_export"),
    path(
        "conflicts/<int:conflict_id>/settle/",
        conflicts.conflict_settle_view,
        name="conflict_settle",
    ),
    # Subscriptions to the change feed (administers_users); a department's own feeds.
    path("subscriptions/", subscriptions.subscriptions_list, name="subscriptions_list"),
    path(
        "subscriptions/subscriptions.xlsx",
        subscriptions.subscriptions_export,
        name="subscriptions_export",
    ),
    path("subscriptions/new/", subscriptions.subscription_create_page, name="subscription_create"),
    path(
        "subscriptions/<int:subscription_id>/",
        subscriptions.subscription_detail,
        name="subscription_detail",
    ),
    path(
        "subscriptions/<int:subscription_id>/edit/",
        subscriptions.subscription_edit,
        name="subscription_edit",
    ),
    path(
        "subscriptions/<int:subscription_id>/delete/",
        subscriptions.subscription_delete_view,
        name="subscription_delete",
    ),
    path(
        "subscriptions/<int:subscription_id>/webhook/",
        webhooks.subscription_webhook,
        name="subscription_webhook",
    ),
    path(
        "subscriptions/<int:subscription_id>/dead-letters/<int:delivery_id>/resend/",
        webhooks.dead_letter_resend,
        name="dead_letter_resend",
    ),
    path("feeds/", feeds.my_feeds, name="my_feeds"),
]
