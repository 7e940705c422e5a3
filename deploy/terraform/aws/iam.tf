# kiln's own AWS identity (IRSA): a role only the kiln ServiceAccount in the
# kiln namespace of this cluster can assume, allowed exactly what kiln does:
# objects under the artifact prefix, the data key through S3 and Secrets
# Manager, and reading its two secrets (for an External Secrets store that
# authenticates as kiln's ServiceAccount).

locals {
  oidc_issuer     = trimprefix(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://")
  artifact_bucket = aws_s3_bucket.this["artifacts"]
}

data "aws_iam_policy_document" "kiln_assume" {
  statement {
    sid     = "KilnServiceAccount"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.eks.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.kiln_namespace}:${var.kiln_service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "kiln" {
  name               = "${var.name}-kiln"
  description        = "kiln server (ServiceAccount ${var.kiln_namespace}/${var.kiln_service_account} on EKS ${local.cluster_name})"
  assume_role_policy = data.aws_iam_policy_document.kiln_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "kiln" {
  # Listing is granted without a prefix condition on purpose: S3 answers a
  # HEAD of a missing key with 404 only to callers allowed s3:ListBucket
  # (else 403), and a HEAD carries no s3:prefix, so a conditioned grant would
  # turn kiln's "not found" into "access denied".
  statement {
    sid       = "ArtifactBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
    resources = [local.artifact_bucket.arn]
  }

  statement {
    sid = "ArtifactObjects"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${local.artifact_bucket.arn}/${var.artifacts_prefix}/*"]
  }

  # SSE-KMS: writing needs a data key, reading (and multipart completion)
  # needs Decrypt; only when S3 or Secrets Manager call KMS on kiln's behalf.
  statement {
    sid       = "DataKeyViaServices"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "s3.${local.region}.amazonaws.com",
        "secretsmanager.${local.region}.amazonaws.com",
      ]
    }
  }

  statement {
    sid     = "OwnSecrets"
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [
      aws_secretsmanager_secret.database_password.arn,
      aws_secretsmanager_secret.redis_auth.arn,
    ]
  }
}

resource "aws_iam_role_policy" "kiln" {
  name   = "kiln"
  role   = aws_iam_role.kiln.id
  policy = data.aws_iam_policy_document.kiln.json
}
