# tflint with only its bundled terraform ruleset: `tflint --init` (plugin
# download) is impossible offline, and the AWS ruleset needs it. The
# recommended preset plus the documentation, naming, comment and
# module-structure rules; tests/deploy/test_terraform.py requires zero issues.

config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}

rule "terraform_documented_variables" {
  enabled = true
}

rule "terraform_documented_outputs" {
  enabled = true
}

rule "terraform_naming_convention" {
  enabled = true
}

rule "terraform_comment_syntax" {
  enabled = true
}

rule "terraform_standard_module_structure" {
  enabled = true
}

rule "terraform_unused_declarations" {
  enabled = true
}
