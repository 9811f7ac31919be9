from django.urls import path

from renfang.web.views import areas, houses, people, search

app_name = "web"

urlpatterns = [
    path("", search.home, name="home"),
    path("search/", search.search, name="search"),
    path("search/people.xlsx", search.search_people_export, name="search_people_export"),
    path("search/houses.xlsx", search.search_houses_export, name="search_houses_export"),
    path("people/<int:person_id>/", people.person_detail, name="person_detail"),
    path("people/<int:person_id>/reveal/", people.person_reveal, name="person_reveal"),
    path("houses/<str:house_code>/", houses.house_detail, name="house_detail"),
    path("areas/<str:code>/", areas.area_detail, name="area_detail"),
    path("areas/<str:code>/subareas.xlsx", areas.area_subareas_export, name="area_subareas_export"),
]
