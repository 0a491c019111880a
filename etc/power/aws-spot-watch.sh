#!/bin/sh
# aws-spot-watch.sh - example spot interruption watcher for the `script`
# power provider.  Runs beside slurmish-ctld (as a service of its own) and
# reads EC2 "Spot Instance Interruption Warning" events that an
# EventBridge rule sends to an SQS queue.  For each, it writes a file
#     <state_dir>/power/script/interrupt/<node>
# holding the seconds of notice.  The controller picks it up within a
# second: the node's jobs get SIGTERM (or their --signal), then are
# requeued (or end PREEMPTED with --no-requeue) when the notice runs out,
# and the interruption is counted in accounting (sacct Interruptions).
set -eu
: "${AWS_REGION:=eu-west-1}"
: "${QUEUE_URL:?set QUEUE_URL to the SQS queue of the EventBridge rule}"
: "${STATE_DIR:=/var/lib/slurmish}"
dir="$STATE_DIR/power/script/interrupt"
mkdir -p "$dir"

while :; do
    aws sqs receive-message --region "$AWS_REGION" --queue-url "$QUEUE_URL" \
        --wait-time-seconds 20 --max-number-of-messages 10 \
        --query 'Messages[].[ReceiptHandle, Body]' --output text |
    while IFS="$(printf '\t')" read -r handle body; do
        [ -n "$handle" ] || continue
        id=$(printf '%s' "$body" | sed -n 's/.*"instance-id" *: *"\([^"]*\)".*/\1/p')
        # shellcheck disable=SC2016 # backticks are JMESPath literals, not a shell's
        node=$(aws ec2 describe-instances --region "$AWS_REGION" --instance-ids "$id" \
            --query 'Reservations[0].Instances[0].Tags[?Key==`slurmish-node`].Value' \
            --output text 2>/dev/null || true)
        # a node name is letters, digits, - and _ only: never a path
        case "$node" in
        ''|*[!A-Za-z0-9_-]*) ;;
        *) printf '120\n' > "$dir/.$node" && mv "$dir/.$node" "$dir/$node" ;;
        esac
        aws sqs delete-message --region "$AWS_REGION" --queue-url "$QUEUE_URL" \
            --receipt-handle "$handle"
    done
done
