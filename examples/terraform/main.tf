# pylayer with Terraform: build the zip first (same inputs → same bytes), then let
# source_code_hash decide. `terraform plan` shows no change while the dependencies do not.
#
#   pylayer build -r requirements.txt --runtime python3.12 --arch arm64 -o build/layer.zip
#   terraform apply

terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}

variable "layer_zip" {
  type    = string
  default = "build/layer.zip"
}

resource "aws_lambda_layer_version" "deps" {
  layer_name               = "pylayer-terraform-deps"
  filename                 = var.layer_zip
  source_code_hash         = filebase64sha256(var.layer_zip)
  compatible_runtimes      = ["python3.12"]
  compatible_architectures = ["arm64"]
}

output "layer_version_arn" {
  value = aws_lambda_layer_version.deps.arn
}
