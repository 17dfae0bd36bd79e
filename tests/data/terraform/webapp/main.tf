provider "aws" {
  region = var.region
}

locals {
  app = "shop"
}

data "aws_ami" "al2023" {
  most_recent = true
  owners      = ["amazon"]
}

resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "public" {
  count             = length(var.zones)
  vpc_id            = aws_vpc.main.id
  availability_zone = var.zones[count.index]
  cidr_block        = "10.0.${count.index}.0/24"
}

resource "aws_security_group" "web" {
  name   = "${local.app}-web"
  vpc_id = aws_vpc.main.id
}

resource "aws_lb" "web" {
  name               = "${local.app}-web"
  load_balancer_type = "application"
  internal           = false
  subnets            = aws_subnet.public[*].id
  security_groups    = [aws_security_group.web.id]
}

resource "aws_lb_target_group" "web" {
  name                 = "${local.app}-web"
  port                 = 80
  protocol             = "HTTP"
  vpc_id               = aws_vpc.main.id
  deregistration_delay = 30

  health_check {
    path                = "/health"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 3
    unhealthy_threshold = 2
    protocol            = "HTTP"
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}

resource "aws_launch_template" "web" {
  name_prefix   = "${local.app}-web-"
  image_id      = data.aws_ami.al2023.id
  instance_type = var.instance_type
}

resource "aws_autoscaling_group" "web" {
  min_size                  = var.min_size
  max_size                  = 6
  desired_capacity          = 2
  health_check_type         = "ELB"
  health_check_grace_period = 120
  vpc_zone_identifier       = aws_subnet.public[*].id
  target_group_arns         = [aws_lb_target_group.web.arn]

  launch_template {
    id      = aws_launch_template.web.id
    version = "$Latest"
  }
}

resource "aws_autoscaling_policy" "cpu" {
  name                   = "cpu50"
  autoscaling_group_name = aws_autoscaling_group.web.name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
    target_value = 50
  }
}

resource "aws_db_instance" "db" {
  identifier              = "${local.app}-db"
  engine                  = "postgres"
  instance_class          = "db.t3.medium"
  allocated_storage       = 50
  multi_az                = true
  storage_encrypted       = true
  backup_retention_period = 7
  username                = "app"
  password                = var.db_password
}

resource "aws_sqs_queue" "orders_dlq" {
  name                      = "${local.app}-orders-dlq"
  message_retention_seconds = 1209600
}

resource "aws_sqs_queue" "orders" {
  name                       = "${local.app}-orders"
  visibility_timeout_seconds = 60
  message_retention_seconds  = 345600
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.orders_dlq.arn
    maxReceiveCount     = 4
  })
}

resource "aws_iam_role" "worker" {
  name               = "${local.app}-worker"
  assume_role_policy = "{}"
}

resource "aws_lambda_function" "worker" {
  function_name = "${local.app}-worker"
  role          = aws_iam_role.worker.arn
  runtime       = "python3.12"
  handler       = "app.handler"
  filename      = "worker.zip"
  memory_size   = 256
  timeout       = 30
}

resource "aws_lambda_event_source_mapping" "orders" {
  event_source_arn = aws_sqs_queue.orders.arn
  function_name    = aws_lambda_function.worker.arn
  batch_size       = 5
}
