package api

import (
	"io"
	"net/http"
	"strconv"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/contracts"
)

// readRelease reads a body of OCDS JSON: its keys are OCDS's (camelCase),
// not the API's, so the contracts package checks them (and keys given
// twice) instead of decodeJSON.
func readRelease(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if err := requireJSON(r, "an OCDS release or release package"); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, contracts.MaxImportBytes))
	if err != nil {
		return nil, jsonError(err, contracts.MaxImportBytes)
	}
	return b, nil
}

// importContracts registers an OCDS release or release package, all of it
// or none.
func (s *Server) importContracts(w http.ResponseWriter, r *http.Request) {
	raw, err := readRelease(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	cs, wr, err := s.Contracts.Import(r.Context(), raw, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.ContractsImported{Receipt: wr.Index}
	for _, c := range cs {
		out.Contracts = append(out.Contracts, apiv1.ContractRegistered{OCID: c.OCID, Release: c.N, SHA256: c.SHA256, Receipt: c.Index})
	}
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	writeJSON(w, http.StatusCreated, out)
}

// amendContract records a later release of a registered contract.
func (s *Server) amendContract(w http.ResponseWriter, r *http.Request) {
	raw, err := readRelease(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	c, wr, err := s.Contracts.Amend(r.Context(), r.PathValue("id"), raw, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	writeJSON(w, http.StatusCreated, apiv1.ContractRegistered{OCID: c.OCID, Release: c.N, SHA256: c.SHA256, Receipt: wr.Index})
}

// listContracts lists the registry: public, as its pages are.
func (s *Server) listContracts(w http.ResponseWriter, r *http.Request) {
	latest, err := s.Contracts.Store.Contracts(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.Contracts{Contracts: []apiv1.Contract{}}
	for _, c := range latest {
		out.Contracts = append(out.Contracts, apiv1.Contract{OCID: c.OCID, Title: c.Title, Buyer: c.Buyer, Vendor: c.Vendor,
			Intermediaries: orEmpty(c.Intermediaries), ProductFlags: orEmpty(c.Flags), MissingClauses: orEmpty(c.Missing), Unexplained: orEmpty(c.Unexplained),
			Upstream: orEmpty(c.Upstream), Amount: c.Amount, Currency: c.Currency, Releases: c.N, SHA256: c.SHA256, Registered: c.Registered, Receipt: c.Index})
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, out)
}

func orEmpty(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
