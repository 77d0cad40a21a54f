package journal

import "strconv"

// The whistleblower intake's operations. A tip's filing and a source's
// follow-up are recorded in the store when they arrive and logged in the
// next day's batch, one TipLog each, so that neither the log's times nor
// its order date the source; the source holds a signed promise of the day
// by which each will be logged. The oversight body's messages are logged
// when sent (TipReply), once the tip's filing is in the log.
var (
	// TipLog logs a source's submission, in the day's batch. Its target
	// is tipmessage:TIP/N.
	TipLog = Operation[TipLogPayload]{Op: "tip.log", Kind: "tipmessage",
		ID: func(p *TipLogPayload) string { return TipMessageID(p.Tip, p.N) }}
	// TipReply records a sealed message from the oversight body to the
	// source. Its target is tip:ID.
	TipReply = Operation[TipReplyPayload]{Op: "tip.reply", Kind: "tip",
		ID: func(p *TipReplyPayload) string { return p.Tip }}
)

// tipOperations lists this file's operations, for Operations.
var tipOperations = []Named{TipLog, TipReply}

// TipMessageID is the target id of a tip's message n.
func TipMessageID(tip string, n int) string {
	if tip == "" || n < 1 {
		return ""
	}
	return tip + "/" + strconv.Itoa(n)
}

type (
	// TipLogPayload: TipLog, the message it logs.
	TipLogPayload struct {
		Tip string
		N   int
	}
	// TipReplyPayload: TipReply. Op is the message's (ombud.TipAcknowledged,
	// TipAnswered or TipReplied); Day its day; Sealed the reply sealed to
	// the tip's reply key, whose SHA-256 is Commitment.
	TipReplyPayload struct {
		Tip        string
		Op         string
		Day        string
		Commitment string
		Sealed     []byte
		By         string
	}
)
