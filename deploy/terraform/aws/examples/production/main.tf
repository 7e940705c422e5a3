# Production: everything the runbook's Phase 1 creates, across two AZs, with
# Multi-AZ RDS and Redis, one NAT gateway per AZ, and the three node pools.
#
#   terraform init && terraform apply
#   terraform output -json helm_values > aws-values.json
#   helm upgrade --install kiln ../../../../helm/kiln -n kiln --create-namespace \
#     -f aws-values.json -f production-values.yaml

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      environment = "production"
      managed-by  = "terraform"
    }
  }
}

module "kiln" {
  source = "../.."

  name               = "kiln-prod"
  vpc_cidr           = "10.40.0.0/16"
  single_nat_gateway = false
  kubernetes_version = "1.33"

  cluster_endpoint_public_access_cidrs = var.api_allowed_cidrs
  cluster_admin_arns                   = var.cluster_admin_arns

  node_groups = {
    system = {
      instance_types = ["m6i.large"]
      min_size       = 2
      max_size       = 3
      desired_size   = 2
    }
    compute = {
      instance_types = ["m6i.2xlarge", "m6a.2xlarge"]
      min_size       = 3
      max_size       = 12
      desired_size   = 3
    }
    gpu = {
      instance_types = ["g5.xlarge", "g5.2xlarge"]
      ami_type       = "AL2023_x86_64_NVIDIA"
      min_size       = 0
      max_size       = 4
      desired_size   = 0
      disk_size_gb   = 200
      taints         = [{ key = "nvidia.com/gpu", value = "true", effect = "NO_SCHEDULE" }]
    }
  }

  kiln_namespace       = "kiln"
  kiln_service_account = "kiln"

  db_engine_version        = "15"
  db_instance_class        = "db.r6g.xlarge"
  db_multi_az              = true
  db_backup_retention_days = 30

  redis_node_type = "cache.r7g.large"
  redis_multi_az  = true

  extra_buckets = ["offline-store"]

  tags = {
    team = "ml-platform"
  }
}
