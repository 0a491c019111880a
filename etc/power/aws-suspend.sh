#!/bin/sh
# aws-suspend.sh NODES - example suspend_program for the `script` power
# provider: terminate the EC2 instances of these slurmish nodes (tagged
# slurmish-node=NAME by aws-resume.sh).  slurmish only suspends nodes with
# no jobs and no live interactive session, or nodes that failed to boot
# (so a half-started instance is not left running, and billing).
set -eu
: "${AWS_REGION:=eu-west-1}"
nodes=$(scontrol show hostnames "$1" | paste -sd, -)

ids=$(aws ec2 describe-instances --region "$AWS_REGION" \
    --filters "Name=tag:slurmish-node,Values=$nodes" \
              "Name=instance-state-name,Values=pending,running,stopping,stopped" \
    --query 'Reservations[].Instances[].InstanceId' --output text)
if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one argument per instance id
    aws ec2 terminate-instances --region "$AWS_REGION" --instance-ids $ids >/dev/null
fi
