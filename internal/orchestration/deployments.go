package orchestration

import (
	"time"

	"github.com/praetorhq/praetor/internal/model"
)

// Deployment concurrency, as Prefect's SecureFlowConcurrencySlots,
// ValidateDeploymentConcurrencyAtRunning, ReleaseFlowConcurrencySlots and
// EnforceDeploymentConcurrencyOnLate decide it. A run of a deployment with
// a concurrency limit takes a slot of the deployment's global limit when it
// becomes PENDING, held by a lease whose id its states carry
// (deployment_concurrency_lease_id) and which the flow's process renews,
// and gives it back when it leaves PENDING, RUNNING and CANCELLING. The
// store applies them in the transaction of the transition.

// DefaultDeploymentLease is how long a deployment slot's lease first
// lasts, without a grace period in the deployment's concurrency options
// (Prefect's initial_deployment_lease_duration).
const DefaultDeploymentLease = 300 * time.Second

// active reports whether a run in s holds its deployment slot's states.
func active(s *model.State) bool {
	return s != nil && (s.Type == model.Pending || s.Type == model.Running || s.Type == model.Cancelling)
}

// PreserveDeploymentLease carries the current state's lease id onto a
// proposal that has none: workers send the field as null.
func PreserveDeploymentLease(cur, p *model.State) {
	if cur != nil && cur.StateDetails.DeploymentConcurrencyLeaseID != nil && p.StateDetails.DeploymentConcurrencyLeaseID == nil {
		p.StateDetails.DeploymentConcurrencyLeaseID = cur.StateDetails.DeploymentConcurrencyLeaseID
	}
}

// SecuresDeploymentSlot reports whether writing s over cur takes a slot:
// the run becomes PENDING from a state that holds none.
func SecuresDeploymentSlot(cur, s *model.State) bool {
	return s.Type == model.Pending && !active(cur)
}

// ValidatesDeploymentSlot reports whether writing s over cur renews the
// slot's lease, which a worker's provisioning may have let expire: the run
// starts RUNNING from PENDING.
func ValidatesDeploymentSlot(cur, s *model.State) bool {
	return cur != nil && cur.Type == model.Pending && s.Type == model.Running
}

// ReleasesDeploymentSlot reports whether decision d, writing its state over
// cur, gives the slot back: the run leaves the states that hold it, except
// for a retry in the same process (a FAILED proposal rejected into
// AwaitingRetry), whose engine keeps renewing the lease across the delay.
func ReleasesDeploymentSlot(cur *model.State, d Decision) bool {
	s := d.Write
	if !active(cur) || active(s) {
		return false
	}
	return !(d.Status == Reject && s.Type == model.Scheduled && s.Name == "AwaitingRetry")
}

// CollisionStrategy is a deployment's concurrency_options.collision_strategy,
// ENQUEUE when it has none.
func CollisionStrategy(options map[string]any) string {
	if s, ok := options["collision_strategy"].(string); ok && s != "" {
		return s
	}
	return "ENQUEUE"
}

// DeploymentLease is how long a deployment slot's lease lasts: the grace
// period of the deployment's concurrency options, else the default.
func DeploymentLease(options map[string]any) time.Duration {
	if g, ok := options["grace_period_seconds"].(float64); ok && g > 0 {
		return time.Duration(g * float64(time.Second))
	}
	return DefaultDeploymentLease
}

// DeploymentLimitZero is the abort of a PENDING proposal when the
// deployment's limit is 0.
func DeploymentLimitZero() Decision {
	return abort("The deployment concurrency limit is 0. The flow will deadlock if submitted again.")
}

// DeploymentCollision is the answer to a PENDING proposal when the
// deployment's limit is full: under ENQUEUE the run waits, SCHEDULED as
// AwaitingConcurrencySlot, wait from now; under CANCEL_NEW it is
// cancelled.
func DeploymentCollision(options map[string]any, now time.Time, wait time.Duration) Decision {
	const reason = "Deployment concurrency limit reached."
	if CollisionStrategy(options) == "CANCEL_NEW" {
		return rejectWith(newState(model.Cancelled, "Cancelled", reason, now), reason)
	}
	s := newState(model.Scheduled, "AwaitingConcurrencySlot", "", now)
	at := model.At(now.Add(wait))
	s.StateDetails.ScheduledTime = &at
	return rejectWith(s, reason)
}

// DeploymentSlotLost is the answer to a RUNNING proposal whose slot's
// lease expired while the run was PENDING and whose limit is full again:
// the infrastructure is up, so the run cannot wait, and is cancelled.
func DeploymentSlotLost(now time.Time) Decision {
	return rejectWith(newState(model.Cancelled, "Cancelled",
		"Deployment concurrency slot lost during provisioning - no slots available to continue execution", now),
		"Deployment concurrency limit reached after lease expiry.")
}

// LateCancelled is the answer to marking a run Late when its deployment
// cancels new runs and its limit is full: the run would only be cancelled
// when it became PENDING, so it is cancelled now.
func LateCancelled(now time.Time) Decision {
	return rejectWith(newState(model.Cancelled, "Cancelled", "Deployment concurrency limit reached.", now),
		"Deployment concurrency limit is full and uses the CANCEL_NEW strategy.")
}
