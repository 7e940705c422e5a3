# ---------------------------------------------------------------- general ---

variable "name" {
  description = "Name of the stack: prefixes every resource and is the EKS cluster name."
  type        = string
  default     = "kiln"

  validation {
    # Bucket names are "<name>-<purpose>-<account id>-<region>" (63 characters at most).
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 characters of lower-case letters, digits and '-', starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
}

# -------------------------------------------------------------------- VPC ---

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC; split into private (/prefix+3), public and database (/prefix+6) subnets per AZ."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be an IPv4 CIDR with a prefix between /16 and /20 (pods take VPC addresses)."
  }
}

variable "availability_zones" {
  description = "AZs to spread subnets over (2 to 4). Empty: the region's first two available AZs."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) >= 2 && length(var.availability_zones) <= 4 && length(distinct(var.availability_zones)) == length(var.availability_zones))
    error_message = "availability_zones must be empty or 2 to 4 distinct AZ names."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all private subnets (cheaper, but an AZ outage cuts egress); false = one per AZ."
  type        = bool
  default     = false
}

# -------------------------------------------------------------------- EKS ---

variable "kubernetes_version" {
  description = "EKS Kubernetes version (the chart is checked against 1.27 and 1.33 schemas)."
  type        = string
  default     = "1.33"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.33."
  }
}

variable "cluster_endpoint_public_access" {
  description = "Whether the EKS API endpoint is reachable from the internet (restricted to cluster_endpoint_public_access_cidrs); the private endpoint is always on."
  type        = bool
  default     = true
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public EKS API endpoint."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.cluster_endpoint_public_access_cidrs) > 0 && alltrue([for c in var.cluster_endpoint_public_access_cidrs : can(cidrhost(c, 0))])
    error_message = "cluster_endpoint_public_access_cidrs must be a non-empty list of CIDRs."
  }
}

variable "cluster_admin_arns" {
  description = "IAM principal ARNs given cluster-admin through EKS access entries (the identity that applies this module gets it too)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.cluster_admin_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", a))])
    error_message = "cluster_admin_arns must be IAM role or user ARNs."
  }
}

variable "cluster_log_retention_days" {
  description = "Retention of the EKS control-plane log group (api, audit, authenticator)."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cluster_log_retention_days)
    error_message = "cluster_log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "node_groups" {
  description = <<-EOT
    EKS managed node groups by name. The defaults are the runbook's three pools:
    system (cluster add-ons), compute (kiln itself) and gpu (model serving;
    tainted nvidia.com/gpu=true:NoSchedule and scaled from zero). Taint effects
    use the EKS API spelling: NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE.
  EOT
  type = map(object({
    instance_types = list(string)
    ami_type       = optional(string, "AL2023_x86_64_STANDARD")
    capacity_type  = optional(string, "ON_DEMAND")
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size_gb   = optional(number, 50)
    labels         = optional(map(string), {})
    taints = optional(list(object({
      key    = string
      value  = optional(string)
      effect = string
    })), [])
  }))
  default = {
    system = {
      instance_types = ["m6i.large"]
      min_size       = 2
      max_size       = 3
      desired_size   = 2
      labels         = { "kiln.io/pool" = "system" }
    }
    compute = {
      instance_types = ["m6i.2xlarge"]
      min_size       = 2
      max_size       = 10
      desired_size   = 3
      labels         = { "kiln.io/pool" = "compute" }
    }
    gpu = {
      instance_types = ["g5.xlarge"]
      ami_type       = "AL2023_x86_64_NVIDIA"
      min_size       = 0
      max_size       = 4
      desired_size   = 0
      disk_size_gb   = 100
      labels         = { "kiln.io/pool" = "gpu" }
      taints         = [{ key = "nvidia.com/gpu", value = "true", effect = "NO_SCHEDULE" }]
    }
  }

  validation {
    condition     = length(var.node_groups) > 0 && alltrue([for g in values(var.node_groups) : g.min_size >= 0 && g.min_size <= g.desired_size && g.desired_size <= g.max_size && g.max_size >= 1])
    error_message = "every node group needs 0 <= min_size <= desired_size <= max_size and max_size >= 1."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : contains(["ON_DEMAND", "SPOT"], g.capacity_type) && length(g.instance_types) > 0 && g.disk_size_gb >= 20])
    error_message = "capacity_type must be ON_DEMAND or SPOT, instance_types non-empty, disk_size_gb at least 20."
  }

  validation {
    condition     = alltrue(flatten([for g in values(var.node_groups) : [for t in g.taints : contains(["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"], t.effect)]]))
    error_message = "taint effects must be NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE."
  }

  validation {
    # A GPU AMI without a taint lets every pod land on the most expensive nodes.
    condition     = alltrue([for g in values(var.node_groups) : length(g.taints) > 0 if can(regex("NVIDIA|NEURON|GPU", g.ami_type))])
    error_message = "node groups with a GPU/accelerator AMI must carry at least one taint."
  }
}

# ------------------------------------------------------ kiln's identity ---

variable "kiln_namespace" {
  description = "Kubernetes namespace the kiln chart is installed into (the IRSA trust names it)."
  type        = string
  default     = "kiln"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.kiln_namespace))
    error_message = "kiln_namespace must be a DNS-1123 label."
  }
}

variable "kiln_service_account" {
  description = "Name of kiln's Kubernetes ServiceAccount (the chart's serviceAccount.name; the IRSA trust names it)."
  type        = string
  default     = "kiln"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.kiln_service_account))
    error_message = "kiln_service_account must be a DNS-1123 subdomain."
  }
}

# ------------------------------------------------------------- PostgreSQL ---

variable "db_engine_version" {
  description = "RDS PostgreSQL version: a major (\"15\": AWS picks the newest minor, auto minor upgrades on) or major.minor."
  type        = string
  default     = "15"

  validation {
    condition     = can(regex("^(1[5-9]|[2-9][0-9])(\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must be PostgreSQL 15 or newer, e.g. \"15\" or \"15.8\"."
  }
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.r6g.large"

  validation {
    condition     = can(regex("^db\\.", var.db_instance_class))
    error_message = "db_instance_class must be an RDS class such as db.r6g.large."
  }
}

variable "db_allocated_storage_gb" {
  description = "Initial gp3 storage of the database in GiB."
  type        = number
  default     = 100

  validation {
    condition     = var.db_allocated_storage_gb >= 20 && var.db_allocated_storage_gb <= 65536
    error_message = "db_allocated_storage_gb must be between 20 and 65536."
  }
}

variable "db_max_allocated_storage_gb" {
  description = "Upper bound for RDS storage autoscaling in GiB, at least db_allocated_storage_gb (0 turns autoscaling off)."
  type        = number
  default     = 500

  validation {
    # Kept to this variable alone: validations naming other variables need Terraform 1.9.
    condition     = var.db_max_allocated_storage_gb == 0 || (var.db_max_allocated_storage_gb >= 20 && var.db_max_allocated_storage_gb <= 65536)
    error_message = "db_max_allocated_storage_gb must be 0 or between 20 and 65536 (RDS refuses one below db_allocated_storage_gb)."
  }
}

variable "db_multi_az" {
  description = "Run RDS with a synchronous standby in a second AZ."
  type        = bool
  default     = true
}

variable "db_name" {
  description = "Name of kiln's database (the path of database_uri)."
  type        = string
  default     = "kiln"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must start with a letter and hold lower-case letters, digits and '_' (at most 63)."
  }
}

variable "db_username" {
  description = "Master user kiln connects as (the user of database_uri; its password is generated and kept in Secrets Manager)."
  type        = string
  default     = "kiln"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_username)) && !contains(["rdsadmin", "admin", "postgres"], var.db_username)
    error_message = "db_username must be a lower-case identifier other than rdsadmin, admin and postgres."
  }
}

variable "db_backup_retention_days" {
  description = "Days RDS keeps automated backups (point-in-time restore window)."
  type        = number
  default     = 14

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 1 and 35."
  }
}

variable "db_deletion_protection" {
  description = "Refuse to delete the database (set false, apply, then destroy)."
  type        = bool
  default     = true
}

# ------------------------------------------------------------------ Redis ---

variable "redis_engine_version" {
  description = "ElastiCache Redis OSS engine version (kiln's online store speaks RESP2, non-cluster mode)."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^[6-9]\\.[0-9]+$", var.redis_engine_version))
    error_message = "redis_engine_version must be a Redis version such as 7.1."
  }
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.r7g.large"

  validation {
    condition     = can(regex("^cache\\.", var.redis_node_type))
    error_message = "redis_node_type must be an ElastiCache type such as cache.r7g.large."
  }
}

variable "redis_multi_az" {
  description = "Run a replica in a second AZ with automatic failover."
  type        = bool
  default     = true
}

variable "redis_snapshot_retention_days" {
  description = "Days ElastiCache keeps daily snapshots (0 turns them off)."
  type        = number
  default     = 7

  validation {
    condition     = var.redis_snapshot_retention_days >= 0 && var.redis_snapshot_retention_days <= 35
    error_message = "redis_snapshot_retention_days must be between 0 and 35."
  }
}

# --------------------------------------------------------------------- S3 ---

variable "artifacts_prefix" {
  description = "Key prefix of kiln's artifact root in the artifacts bucket (artifacts_uri is s3://BUCKET/PREFIX); kiln's role may touch only keys under it."
  type        = string
  default     = "artifacts"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$", var.artifacts_prefix))
    error_message = "artifacts_prefix must be a relative key prefix without leading/trailing '/', e.g. artifacts."
  }
}

variable "extra_buckets" {
  description = "Further buckets to create with the same protections (e.g. [\"offline-store\", \"backups\"]); kiln's role gets no access to them."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for b in var.extra_buckets : can(regex("^[a-z][a-z0-9-]{1,10}[a-z0-9]$", b)) && b != "artifacts"])
    error_message = "extra_buckets entries must be 3-12 lower-case letters, digits and '-', and not \"artifacts\"."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days a replaced or deleted object version is kept before S3 expires it."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_retention_days >= 1
    error_message = "noncurrent_version_retention_days must be at least 1."
  }
}

variable "bucket_force_destroy" {
  description = "Let destroy delete buckets that still hold objects (tests and throwaway stacks only)."
  type        = bool
  default     = false
}

# ---------------------------------------------------------- KMS, secrets ---

variable "kms_deletion_window_days" {
  description = "Waiting period before a destroyed KMS key is deleted (data encrypted under it is lost then)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "secret_recovery_window_days" {
  description = "Days Secrets Manager keeps a deleted secret recoverable (0 deletes at once)."
  type        = number
  default     = 30

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}
