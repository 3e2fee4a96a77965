from django.urls import path

from tokens import views

urlpatterns = [
    path("staff/chain/", views.chain_transaction_list, name="chain_transactions"),
    path("staff/chain/<int:tx_id>/retry/", views.chain_transaction_retry, name="chain_transaction_retry"),
    path("staff/chain/<int:tx_id>/fill/", views.chain_transaction_fill, name="chain_transaction_fill"),
]
