package journal

import (
	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
)

// PrivilegedOp names the privileged operation (ombud.PrivilegedOperations)
// an entry's body records, "" for one that is none. A quorum entry is
// named quorum.set whatever it does: whether it lowers the quorum depends
// on the quorum before it, which the store and the auditor know.
func PrivilegedOp(body entry.Body) string {
	switch b := body.(type) {
	case entry.Issuer:
		return pick(b.Op == entry.OpRegister, ombud.OpIssuerRegister)
	case entry.Policy:
		return pick(b.Op == entry.OpSet, ombud.OpPolicyReload)
	case entry.Key:
		return pick(b.Op == entry.OpRotate, ombud.OpKeyRotate)
	case entry.Principal:
		switch {
		case b.Op == entry.OpCreate && ombud.GrantsPrivilege(b.Roles):
			return ombud.OpAdminCreate
		case b.Op == entry.OpEmergencyRestore:
			return ombud.OpEmergencyRestore
		}
	case entry.Analytic:
		switch b.Op {
		case entry.OpRegister:
			return ombud.OpSystemRegister
		case entry.OpVersion:
			return ombud.OpSystemVersion
		}
	case entry.Recipient:
		return pick(b.Op == entry.OpRegister, ombud.OpRecipientAdd)
	case entry.Hold:
		return pick(b.Op == entry.OpRelease, ombud.OpHoldRelease)
	case entry.Erase:
		return pick(ombud.ErasedOnOrder(b.Reason), ombud.OpObjectErase)
	case entry.Contract:
		return pick(b.Op == entry.OpAmend, ombud.OpContractAmend)
	case entry.Quorum:
		return ombud.OpQuorumSet
	}
	return ""
}

func pick(ok bool, op string) string {
	if ok {
		return op
	}
	return ""
}
