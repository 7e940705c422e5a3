# Shared lookups and names. Each concern lives in its own file: vpc.tf, eks.tf,
# rds.tf, redis.tf, s3.tf, kms.tf, iam.tf.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_availability_zones" "available" {
  state = "available"
  # Local Zones and Wavelength Zones lack RDS/ElastiCache multi-AZ support.
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  # Two AZs unless the caller names them: what the runbook's Phase 1 uses and
  # the minimum RDS Multi-AZ, ElastiCache failover and EKS accept.
  azs = length(var.availability_zones) > 0 ? var.availability_zones : slice(data.aws_availability_zones.available.names, 0, 2)

  cluster_name = var.name
  account_id   = data.aws_caller_identity.current.account_id
  partition    = data.aws_partition.current.partition
  region       = data.aws_region.current.region

  tags = merge(var.tags, {
    "app.kubernetes.io/part-of" = "kiln"
    "kiln/stack"                = var.name
  })
}
