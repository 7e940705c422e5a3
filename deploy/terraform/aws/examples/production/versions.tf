terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Keep the state remote and encrypted: it holds the generated database
  # password and Redis token (see ../../README.md). Fill in and uncomment.
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "kiln/production.tfstate"
  #   region       = "eu-west-1"
  #   encrypt      = true
  #   use_lockfile = true
  # }
}
