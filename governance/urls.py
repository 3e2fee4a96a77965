from django.urls import path

from governance import api, views, votes

urlpatterns = [
    path("issuers/<slug:slug>/ballots/", views.ballot_list, name="ballot_list"),
    path("issuers/<slug:slug>/ballots/new/", views.ballot_create_page, name="ballot_create"),
    path("issuers/<slug:slug>/ballots/<uuid:ballot_id>/", views.ballot_detail, name="ballot_detail"),
    path(
        "issuers/<slug:slug>/ballots/<uuid:ballot_id>/voting-power/",
        views.ballot_power_read_page,
        name="ballot_power_read",
    ),
    path("issuers/<slug:slug>/ballots/<uuid:ballot_id>/close/", views.ballot_close_page, name="ballot_close"),
    # the investor's own (governance/votes.py)
    path("portfolio/votes/", votes.investor_votes, name="investor_votes"),
    path("portfolio/votes/<uuid:ballot_id>/", votes.investor_ballot_page, name="investor_ballot"),
]

api_urlpatterns = [
    path("ballots/<uuid:ballot_id>/vote-message/", api.VoteTypedDataApi.as_view(), name="api_ballot_vote_message"),
    path("ballots/<uuid:ballot_id>/signed-votes/", api.SignedVoteApi.as_view(), name="api_ballot_signed_vote"),
]
