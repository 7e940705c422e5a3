variable "region" {
  description = "AWS region to create the stack in."
  type        = string
  default     = "eu-west-1"
}

variable "cluster_admin_arns" {
  description = "IAM roles or users that administer the cluster besides the identity applying this."
  type        = list(string)
  default     = []
}

variable "api_allowed_cidrs" {
  description = "Networks allowed to reach the public EKS API endpoint (e.g. the office and CI egress)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}
