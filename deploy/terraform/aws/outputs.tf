# What the Helm chart (deploy/helm/kiln) consumes, named as in
# /work/notes/deploy_contract.md's table, then what operators need besides.
# No output carries a password or token: secrets are named by their Secrets
# Manager ARN and reach the pods as Kubernetes Secrets (README.md).

# ------------------------------------------------ chart values (contract) ---

locals {
  database_uri  = format("postgresql://%s@%s:%d/%s?sslmode=require", var.db_username, aws_db_instance.this.address, aws_db_instance.this.port, var.db_name)
  artifacts_uri = "s3://${local.artifact_bucket.id}/${var.artifacts_prefix}"
  redis_uri     = "rediss://${aws_elasticache_replication_group.this.primary_endpoint_address}:${aws_elasticache_replication_group.this.port}"
}

output "database_uri" {
  description = "kiln's --database-uri, chart value database.uri (no password: that is database_password_secret_arn)."
  value       = local.database_uri
}

output "artifacts_uri" {
  description = "kiln's --artifacts-uri, chart value artifacts.uri."
  value       = local.artifacts_uri
}

output "aws_region" {
  description = "Region of the buckets (kiln's AWS_REGION), chart value artifacts.region."
  value       = local.region
}

output "redis_uri" {
  description = "kiln's --online-store-uri (TLS), chart value onlineStore.uri (no token: that is redis_auth_secret_arn)."
  value       = local.redis_uri
}

output "kiln_irsa_role_arn" {
  description = "Role kiln's ServiceAccount assumes, chart value serviceAccount.annotations[\"eks.amazonaws.com/role-arn\"]."
  value       = aws_iam_role.kiln.arn
}

output "database_password_secret_arn" {
  description = "Secrets Manager secret holding the PostgreSQL password (plain string); becomes the Kubernetes Secret named by database.passwordSecret."
  value       = aws_secretsmanager_secret.database_password.arn
}

output "redis_auth_secret_arn" {
  description = "Secrets Manager secret holding the Redis AUTH token (plain string); becomes the Kubernetes Secret named by onlineStore.passwordSecret."
  value       = aws_secretsmanager_secret.redis_auth.arn
}

output "helm_values" {
  description = "The chart values above as one object: `terraform output -json helm_values > aws-values.json` then `helm upgrade --install -f aws-values.json`."
  value = {
    database = {
      uri = local.database_uri
    }
    artifacts = {
      uri    = local.artifacts_uri
      region = local.region
    }
    onlineStore = {
      uri = local.redis_uri
    }
    serviceAccount = {
      # The name the IRSA trust admits (the chart's default is the release's fullname).
      name = var.kiln_service_account
      annotations = {
        "eks.amazonaws.com/role-arn" = aws_iam_role.kiln.arn
      }
    }
  }
}

# ------------------------------------------------------------- operators ---

output "cluster_name" {
  description = "EKS cluster name (`aws eks update-kubeconfig --name ...`)."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "EKS API server endpoint."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA bundle of the EKS API server (for kubernetes/helm provider configuration)."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "cluster_security_group_id" {
  description = "Security group EKS attaches to the control plane and managed nodes (admitted by the database and Redis groups)."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster, for further IRSA roles (e.g. External Secrets, load balancer controller)."
  value       = aws_iam_openid_connect_provider.eks.arn
}

output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "Public subnets, one per AZ (internet-facing load balancers, NAT)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets, one per AZ (EKS nodes and pods)."
  value       = aws_subnet.private[*].id
}

output "database_subnet_ids" {
  description = "Database subnets, one per AZ (RDS, ElastiCache; no internet route)."
  value       = aws_subnet.database[*].id
}

output "availability_zones" {
  description = "AZs the subnets span."
  value       = local.azs
}

output "database_address" {
  description = "RDS endpoint host name."
  value       = aws_db_instance.this.address
}

output "redis_primary_endpoint" {
  description = "ElastiCache primary endpoint host name."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "bucket_names" {
  description = "Bucket name by purpose (artifacts and extra_buckets)."
  value       = { for k, b in aws_s3_bucket.this : k => b.id }
}

output "kms_data_key_arn" {
  description = "KMS key encrypting S3 objects, RDS, ElastiCache and the secrets."
  value       = aws_kms_key.data.arn
}
