# Two customer-managed keys: one for kiln's data (S3 objects, RDS storage,
# ElastiCache at rest, the Secrets Manager secrets), which kiln's role may use
# through S3 and Secrets Manager only, and one for the EKS secrets envelope,
# which only the cluster's role uses. Key policies leave access to IAM
# policies in this account (the AWS default), so iam.tf is the one place that
# says who may use them.

data "aws_iam_policy_document" "kms_account" {
  statement {
    sid       = "EnableIAMPolicies"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "data" {
  description             = "${var.name}: kiln data (S3 artifacts, RDS, ElastiCache, Secrets Manager)"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms_account.json

  tags = merge(local.tags, { Name = "${var.name}-data" })
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.name}-data"
  target_key_id = aws_kms_key.data.key_id
}

resource "aws_kms_key" "eks" {
  description             = "${var.name}: EKS Kubernetes Secrets envelope encryption"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms_account.json

  tags = merge(local.tags, { Name = "${var.name}-eks" })
}

resource "aws_kms_alias" "eks" {
  name          = "alias/${var.name}-eks"
  target_key_id = aws_kms_key.eks.key_id
}
