# The source CMK and both IAM policies, from the files that
# examples/terraform_policies.py writes to policies/. rdsshare then uses this key
# (source_kms_key="alias/team/rds-share") and changes nothing Terraform manages.

variable "source_runner_role" { type = string } # runs the source side of rdsshare
variable "target_runner_role" { type = string } # runs the target side

provider "aws" {
  alias  = "source"
  region = "ap-northeast-1"
  assume_role { role_arn = "arn:aws:iam::111111111111:role/terraform" }
}

provider "aws" {
  alias  = "target"
  region = "ap-northeast-1"
  assume_role { role_arn = "arn:aws:iam::222222222222:role/terraform" }
}

# Source account: the key the shared snapshot copies are encrypted with.
resource "aws_kms_key" "share" {
  provider    = aws.source
  description = "RDS snapshots shared with 222222222222"
}

resource "aws_kms_alias" "share" {
  provider      = aws.source
  name          = "alias/team/rds-share"
  target_key_id = aws_kms_key.share.key_id
}

resource "aws_kms_key_policy" "share" {
  provider = aws.source
  key_id   = aws_kms_key.share.id
  policy   = file("${path.module}/policies/key-policy.json")
}

resource "aws_iam_policy" "rdsshare_source" {
  provider = aws.source
  name     = "rdsshare-source"
  policy = templatefile("${path.module}/policies/source-iam-policy.json.tftpl", {
    source_kms_key_arn = aws_kms_key.share.arn
  })
}

resource "aws_iam_role_policy_attachment" "rdsshare_source" {
  provider   = aws.source
  role       = var.source_runner_role
  policy_arn = aws_iam_policy.rdsshare_source.arn
}

# Target account: restore from the shared snapshot, under the target's own key.
resource "aws_iam_policy" "rdsshare_target" {
  provider = aws.target
  name     = "rdsshare-target"
  policy = templatefile("${path.module}/policies/target-iam-policy.json.tftpl", {
    source_kms_key_arn = aws_kms_key.share.arn
  })
}

resource "aws_iam_role_policy_attachment" "rdsshare_target" {
  provider   = aws.target
  role       = var.target_runner_role
  policy_arn = aws_iam_policy.rdsshare_target.arn
}
