from django.urls import path

from tokens import views

urlpatterns = [
    path("staff/chain/", views.chain_transaction_list, name="chain_transactions"),
    path("staff/chain/<int:tx_id>/retry/", views.chain_transaction_retry, name="chain_transaction_retry"),
    path("staff/chain/<int:tx_id>/fill/", views.chain_transaction_fill, name="chain_transaction_fill"),
    # A chain without a block explorer (a local anvil): the portal's own pages, read from the node.
    path("chain/tx/<str:tx_hash>/", views.chain_transaction_detail, name="chain_transaction_detail"),
    path("chain/address/<str:address>/", views.chain_address_detail, name="chain_address_detail"),
]
