output "helm_values" {
  description = "Chart values from the module (database, artifacts, onlineStore, serviceAccount)."
  value       = module.kiln.helm_values
}

output "database_password_secret_arn" {
  description = "Secrets Manager ARN of the PostgreSQL password (for the External Secrets bridge)."
  value       = module.kiln.database_password_secret_arn
}

output "redis_auth_secret_arn" {
  description = "Secrets Manager ARN of the Redis AUTH token (for the External Secrets bridge)."
  value       = module.kiln.redis_auth_secret_arn
}

output "cluster_name" {
  description = "EKS cluster to point kubectl at: aws eks update-kubeconfig --name <this> --region <region>."
  value       = module.kiln.cluster_name
}

output "kiln_irsa_role_arn" {
  description = "Role kiln's ServiceAccount assumes."
  value       = module.kiln.kiln_irsa_role_arn
}
