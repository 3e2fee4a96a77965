"""KYC providers: manual review by a compliance officer, or a vendor that answers by signed webhook."""
