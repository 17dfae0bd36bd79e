# A REST API in front of a function, a topic fanning out to a queue and a function, a stream,
# a cache, and a record to an instance's Elastic IP.
variable "stage" {
  default = "prod"
}

variable "shards" {
  default = 2
}

resource "aws_api_gateway_rest_api" "api" {
  name = "orders-api"
}

resource "aws_api_gateway_resource" "orders" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  parent_id   = aws_api_gateway_rest_api.api.root_resource_id
  path_part   = "orders"
}

resource "aws_api_gateway_method" "post" {
  rest_api_id   = aws_api_gateway_rest_api.api.id
  resource_id   = aws_api_gateway_resource.orders.id
  http_method   = "POST"
  authorization = "NONE"
}

resource "aws_api_gateway_integration" "post" {
  rest_api_id             = aws_api_gateway_rest_api.api.id
  resource_id             = aws_api_gateway_resource.orders.id
  http_method             = aws_api_gateway_method.post.http_method
  integration_http_method = "POST"
  type                    = "AWS_PROXY"
  uri                     = aws_lambda_function.api.invoke_arn
}

resource "aws_api_gateway_deployment" "api" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  depends_on  = [aws_api_gateway_integration.post]
}

resource "aws_api_gateway_stage" "prod" {
  rest_api_id           = aws_api_gateway_rest_api.api.id
  deployment_id         = aws_api_gateway_deployment.api.id
  stage_name            = var.stage
  cache_cluster_enabled = true
  cache_cluster_size    = "1.6"
}

resource "aws_api_gateway_method_settings" "all" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  stage_name  = aws_api_gateway_stage.prod.stage_name
  method_path = "*/*"

  settings {
    throttling_rate_limit  = 500
    throttling_burst_limit = 1000
    cache_ttl_in_seconds   = 60
  }
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.api.execution_arn}/*/*"
}

resource "aws_lambda_function" "api" {
  function_name = "orders-api"
  role          = "arn:aws:iam::123456789012:role/api"
  runtime       = "nodejs20.x"
  handler       = "index.handler"
  filename      = "api.zip"
}

resource "aws_sns_topic" "events" {
  name = "order-events"
}

resource "aws_sqs_queue" "audit" {
  name = "audit"
}

resource "aws_sns_topic_subscription" "audit" {
  topic_arn = aws_sns_topic.events.arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.audit.arn
  filter_policy = jsonencode({
    kind = ["order"]
  })
}

resource "aws_sns_topic_subscription" "notify" {
  topic_arn = aws_sns_topic.events.arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.notify.arn
}

resource "aws_lambda_function" "notify" {
  function_name = "notify"
  role          = "arn:aws:iam::123456789012:role/notify"
  runtime       = "python3.12"
  handler       = "app.handler"
  filename      = "notify.zip"
  memory_size   = 512
}

resource "aws_kinesis_stream" "clicks" {
  name             = "clicks"
  shard_count      = var.shards
  retention_period = 24
}

resource "aws_lambda_event_source_mapping" "clicks" {
  event_source_arn  = aws_kinesis_stream.clicks.arn
  function_name     = aws_lambda_function.notify.arn
  starting_position = "LATEST"
  batch_size        = 200
}

resource "aws_elasticache_cluster" "sessions" {
  cluster_id      = "sessions"
  engine          = "memcached"
  node_type       = "cache.t3.small"
  num_cache_nodes = 3
}

resource "aws_instance" "bastion" {
  instance_type     = "t3.nano"
  availability_zone = "us-east-1c"
}

resource "aws_eip" "bastion" {
  instance = aws_instance.bastion.id
}

resource "aws_route53_zone" "main" {
  name = "example.com"
}

resource "aws_route53_record" "bastion" {
  zone_id = aws_route53_zone.main.zone_id
  name    = "bastion.example.com"
  type    = "A"
  ttl     = 300
  records = [aws_eip.bastion.public_ip]
}
