#!/bin/sh
# aws-resume.sh NODES - example resume_program for the `script` power
# provider: start one EC2 instance per slurmish node.  An example to adapt,
# not a tested integration: review the AMI, subnet and tags for your site.
#
#   power:
#     provider: script
#     resume_program: /etc/slurmish/power/aws-resume.sh
#     suspend_program: /etc/slurmish/power/aws-suspend.sh
#
# slurmish runs it with one argument, a hostlist such as "gpu[1-3]"
# (never through a shell), with SLURMISH_CONF set.  Exit non-zero and
# every node of the call is marked DOWN with "resume_program exited with
# status N" and its jobs go to another node group; print why on stderr
# (it goes to the controller's log).  A node counts as up when its
# slurmish-d registers, so the instance's user data must start slurmish-d
# with its node name (-N) and the cluster's config and munge key.
set -eu
: "${AWS_REGION:=eu-west-1}"
nodes=$(scontrol show hostnames "$1")

for node in $nodes; do
    # node names end up in the instance's boot script: letters, digits, - and _ only
    case "$node" in
    ''|*[!A-Za-z0-9_-]*) echo "aws-resume: refusing node name '$node'" >&2; exit 2 ;;
    esac
    # One launch template per node group, named after it (gpu1 -> group
    # "gpu"): instance type, AMI, spot or on-demand, and user data that
    # runs:  slurmish-d -f /etc/slurmish.yaml -N "$node"
    group=$(printf '%s' "$node" | sed 's/[0-9]*$//')
    aws ec2 run-instances --region "$AWS_REGION" \
        --launch-template "LaunchTemplateName=slurmish-$group" \
        --tag-specifications "ResourceType=instance,Tags=[{Key=slurmish-node,Value=$node}]" \
        --user-data "#!/bin/sh
hostnamectl set-hostname $node
exec /usr/sbin/slurmish-d -D -f /etc/slurmish.yaml -N $node" \
        --query 'Instances[0].InstanceId' --output text
done
