"""KYC providers: manual review by platform compliance, or a vendor that answers by signed webhook."""
