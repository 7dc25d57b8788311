# pylayer with Terraform: build the zip first (same inputs → same bytes), then let
# source_code_hash decide. `terraform plan` shows no change while the dependencies do not.
#
#   pylayer build -r requirements.txt --runtime python3.12 --arch arm64 -o build/layer.zip
#   terraform init && terraform apply
#
# Every value has a default; override one with -var (e.g. -var layer_name=acme-deps) or a
# *.tfvars file. test/examples/terraform.test.ts applies this file unchanged against the
# AWS emulator, pointing the provider there with an override file (*_override.tf).

terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "layer_name" {
  type    = string
  default = "pylayer-terraform-deps"
}

variable "layer_zip" {
  description = "The zip `pylayer build -o` wrote."
  type        = string
  default     = "build/layer.zip"
}

variable "runtime" {
  description = "The --runtime the zip was built for."
  type        = string
  default     = "python3.12"
}

variable "architecture" {
  description = "The --arch the zip was built for."
  type        = string
  default     = "arm64"
}

provider "aws" {
  region = var.region
}

resource "aws_lambda_layer_version" "deps" {
  layer_name               = var.layer_name
  filename                 = var.layer_zip
  source_code_hash         = filebase64sha256(var.layer_zip)
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]
}

output "layer_version_arn" {
  value = aws_lambda_layer_version.deps.arn
}
