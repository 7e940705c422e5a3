# RDS PostgreSQL for kiln's metadata (--database-uri). The password is
# generated here, handed to RDS and to a Secrets Manager secret, and never
# output: the chart mounts it from a Kubernetes Secret (the README's bridge).
#
# Not RDS-managed master passwords (manage_master_user_password): RDS rotates
# those every 7 days and kiln reads --database-password-file once at start,
# so a rotation would break new connections until a restart. The price is
# that the generated value sits in the Terraform state: keep the state in an
# encrypted backend with restricted access.

resource "random_password" "database" {
  length  = 40
  special = false # RDS refuses '/', '@', '"' and spaces; 40 alphanumerics are ~238 bits
}

resource "aws_secretsmanager_secret" "database_password" {
  name                    = "${var.name}/database-password"
  description             = "Password of RDS user ${var.db_username} (kiln's --database-password-file)"
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "database_password" {
  secret_id     = aws_secretsmanager_secret.database_password.id
  secret_string = random_password.database.result
}

resource "aws_security_group" "database" {
  name        = "${var.name}-database"
  description = "PostgreSQL from the EKS cluster only"
  vpc_id      = aws_vpc.this.id
  tags        = merge(local.tags, { Name = "${var.name}-database" })
}

resource "aws_vpc_security_group_ingress_rule" "database_from_cluster" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from EKS nodes and pods (cluster security group)"
  referenced_security_group_id = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_db_subnet_group" "this" {
  name       = "${var.name}-database"
  subnet_ids = aws_subnet.database[*].id
  tags       = local.tags
}

resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-pg${split(".", var.db_engine_version)[0]}-"
  family      = "postgres${split(".", var.db_engine_version)[0]}"
  description = "kiln: TLS required"

  # The server refuses unencrypted connections, matching sslmode=require in database_uri.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  tags = local.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "this" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  db_name  = var.db_name
  username = var.db_username
  password = random_password.database.result
  port     = 5432

  allocated_storage     = var.db_allocated_storage_gb
  max_allocated_storage = var.db_max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.data.arn

  multi_az               = var.db_multi_az
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this.name

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false
  backup_retention_period     = var.db_backup_retention_days
  backup_window               = "03:00-04:00"
  maintenance_window          = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot       = true
  deletion_protection         = var.db_deletion_protection
  skip_final_snapshot         = false
  final_snapshot_identifier   = "${var.name}-final"

  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]

  tags = local.tags
}
