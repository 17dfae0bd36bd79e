variable "region" {
  default = "us-east-1"
}

variable "instance_type" {
  default = "t3.micro"
}

variable "min_size" {
  default = 2
}

variable "zones" {
  default = ["us-east-1a", "us-east-1b"]
}

variable "db_password" {
  description = "no default: not needed by the architecture"
}
