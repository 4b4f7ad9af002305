import { useEffect, useState } from "react";
import { Button } from "@/components/ui/button";
import { Badge } from "@/components/ui/badge";
import { Input } from "@/components/ui/input";
import { Textarea } from "@/components/ui/textarea";
import { Check, X, Pencil, HelpCircle, ShieldCheck, ShieldAlert, Loader2 } from "lucide-react";

// One proposed action. The server owns its state: every button sends
// "I chose verdict V for action A at revision R" and the server re-checks it.

const STATUS = {
  proposed: { label: "Awaiting decision", color: "#b45309" },
  approved: { label: "Approved", color: "#2563eb" },
  executing: { label: "Running", color: "#2563eb" },
  succeeded: { label: "Done", color: "#15803d" },
  failed: { label: "Failed", color: "#b91c1c" },
  rejected: { label: "Rejected", color: "#b91c1c" },
  superseded: { label: "Superseded", color: "#6b7280" },
  cancelled: { label: "Cancelled", color: "#6b7280" },
};
const RISK = { read: "read-only", internal: "internal", external: "external effect" };

const muted = { color: "hsl(var(--muted-foreground))" };
const section = { marginTop: 12 };
const heading = { fontSize: 12, fontWeight: 600, textTransform: "uppercase", letterSpacing: 0.4, ...muted, marginBottom: 4 };
const grid = { display: "grid", gridTemplateColumns: "max-content 1fr", columnGap: 12, rowGap: 2, fontSize: 14 };

function Rows({ rows }) {
  return (
    <div style={grid}>
      {rows.map((r) => [
        <span key={r.label + "-l"} style={muted}>{r.label}</span>,
        <span key={r.label + "-v"} style={{ whiteSpace: "pre-wrap", wordBreak: "break-word" }}>{r.value}</span>,
      ])}
    </div>
  );
}

function Field({ field, value, onChange }) {
  const id = "f-" + field.path.replace(/\W/g, "-");
  let control;
  if (field.type === "select") {
    control = (
      <select id={id} name={field.path} value={value} onChange={(e) => onChange(Number(e.target.value))}
        style={{ height: 36, borderRadius: 6, border: "1px solid hsl(var(--border))", background: "transparent", color: "inherit", padding: "0 8px" }}>
        {field.options.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
    );
  } else if (field.type === "textarea") {
    control = <Textarea id={id} name={field.path} rows={6} value={value} onChange={(e) => onChange(e.target.value)} />;
  } else if (field.type === "bool") {
    control = <input id={id} name={field.path} type="checkbox" checked={!!value} onChange={(e) => onChange(e.target.checked)} />;
  } else {
    control = <Input id={id} name={field.path} type={field.type === "number" ? "number" : "text"} value={value ?? ""}
      onChange={(e) => onChange(e.target.value)} />;
  }
  return (
    <label htmlFor={id} style={{ display: "grid", gridTemplateColumns: "160px 1fr", alignItems: "center", gap: 8, marginBottom: 6, fontSize: 14 }}>
      <span style={muted}>{field.label}</span>
      {control}
    </label>
  );
}

function typed(field, raw) {
  if (field.type === "number") return raw === "" || raw === null ? null : Number(raw);
  if (field.type === "list") return String(raw).split(",").map((s) => s.trim()).filter(Boolean);
  return raw;
}

export default function ActionCard() {
  const [fresh, setFresh] = useState(null);
  const [mode, setMode] = useState("view"); // view | edit | reject
  const [draft, setDraft] = useState({});
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState("");
  const [details, setDetails] = useState(false);

  // Newest wins: props pushed by the server, or state fetched on mount.
  // (>=: a role change or a refusal brings the same updated_at, and fresh is newer then.)
  const p = fresh && fresh.updated_at >= props.updated_at ? fresh : props;

  useEffect(() => {
    // After a reload or in thread history, ask the ledger for the current state.
    callAction({ name: "baton_card", payload: { action_id: props.action_id } })
      .then((res) => { if (res && res.response && res.response.ok) setFresh(res.response.props); })
      .catch(() => {});
  }, [props.action_id]);

  const send = async (verdict, extra) => {
    setBusy(true);
    setMessage("");
    try {
      const res = await callAction({
        name: "baton_decide",
        payload: { action_id: p.action_id, revision: p.revision, verdict, ...extra },
      });
      const r = res && res.response;
      if (r && r.ok) {
        setFresh(r.props);
        setMode("view");
        setReason("");
      } else {
        if (r && r.props) {
          // Refused: show the ledger's state; keep an open form only if it still applies.
          if (r.props.revision !== p.revision || !r.props.can_decide) setMode("view");
          setFresh(r.props);
        }
        setMessage((r && r.message) || "The server did not accept that decision.");
      }
    } catch (e) {
      setMessage("Could not reach Baton: " + e);
    } finally {
      setBusy(false);
    }
  };

  const startEdit = () => {
    const values = {};
    p.fields.forEach((f) => { values[f.path] = f.value; });
    setDraft(values);
    setMode("edit");
    setMessage("");
  };

  const changes = () => {
    const out = {};
    p.fields.forEach((f) => {
      const v = typed(f, draft[f.path]);
      if (JSON.stringify(v) !== JSON.stringify(typed(f, f.value))) out[f.path] = v;
    });
    return out;
  };

  const status = STATUS[p.status] || { label: p.status, color: "#6b7280" };
  const failedChecks = p.checks.filter((c) => !c.passed);
  const decided = p.status !== "proposed";
  // A decided card folds its working (parameters, evidence, checks) behind a toggle.
  const open = !decided || details;

  return (
    <div data-testid="action-card" data-action-id={p.action_id} data-status={p.status} data-revision={p.revision}
      style={{ border: "1px solid hsl(var(--border))", borderLeft: `4px solid ${status.color}`, borderRadius: 10, padding: 16, maxWidth: 760, background: "hsl(var(--card))" }}>
      <div style={{ display: "flex", alignItems: "center", gap: 8, flexWrap: "wrap" }}>
        <Badge variant="secondary">{p.agent}</Badge>
        <span style={{ fontWeight: 600, fontSize: 16, flex: 1, minWidth: 200 }}>{p.title}</span>
        <span data-testid="card-status" style={{ fontSize: 12, fontWeight: 600, color: status.color, border: `1px solid ${status.color}`, borderRadius: 999, padding: "2px 10px" }}>
          {status.label}
        </span>
      </div>
      <div style={{ fontSize: 12, marginTop: 4, ...muted }}>
        {p.tool} · revision {p.revision} · {RISK[p.risk] || p.risk}
        {p.requires_approval ? ` · needs ${p.required_role} approval` : " · runs without approval at this autonomy level"}
      </div>

      <p data-testid="card-rationale" style={{ marginTop: 10, fontSize: 14, lineHeight: 1.5 }}>{p.rationale}</p>

      {mode === "edit" ? (
        <div style={section} data-testid="card-edit-form">
          <div style={heading}>Edit parameters</div>
          {p.fields.map((f) => (
            <Field key={f.path} field={f} value={draft[f.path]} onChange={(v) => setDraft({ ...draft, [f.path]: v })} />
          ))}
        </div>
      ) : open && p.params.length > 0 && (
        <div style={section}>
          <div style={heading}>Parameters</div>
          <Rows rows={p.params} />
        </div>
      )}

      {open && p.evidence.length > 0 && (
        <div style={section} data-testid="card-evidence">
          <div style={heading}>Evidence</div>
          <Rows rows={p.evidence} />
        </div>
      )}

      {open && p.checks.length > 0 && (
        <div style={section} data-testid="card-checks">
          <div style={heading}>Policy checks</div>
          {p.checks.map((c) => (
            <div key={c.rule} style={{ display: "flex", gap: 6, fontSize: 14, alignItems: "flex-start" }}>
              {c.passed ? <ShieldCheck size={16} color="#15803d" style={{ flexShrink: 0, marginTop: 2 }} />
                : <ShieldAlert size={16} color="#b91c1c" style={{ flexShrink: 0, marginTop: 2 }} />}
              <span><b>{c.rule}</b> <span style={muted}>{c.detail}</span></span>
            </div>
          ))}
        </div>
      )}

      {open && p.alternatives.length > 0 && mode === "view" && (
        <div style={section}>
          <div style={heading}>Alternatives considered</div>
          {p.alternatives.map((a) => (
            <div key={a.option} style={{ fontSize: 14 }}>{a.option} <span style={muted}>— {a.why_not}</span></div>
          ))}
        </div>
      )}

      {(p.edits || []).length > 0 && (
        <div data-testid="card-edits" style={{ ...section, fontSize: 13, ...muted }}>
          {p.edits.map((e) => <div key={e}>{e}</div>)}
        </div>
      )}

      {p.lessons.length > 0 && (
        <div style={{ ...section, fontSize: 13 }}>Applied: {p.lessons.join("; ")}</div>
      )}

      {p.result_summary && (
        <div data-testid="card-result" style={{ ...section, fontSize: 14, padding: 8, borderRadius: 6, background: "hsl(var(--muted))" }}>
          {p.result_summary}
        </div>
      )}
      {p.error && <div style={{ ...section, color: "#b91c1c", fontSize: 14 }}>{p.error}</div>}
      {decided && p.decided_by && (
        <div data-testid="card-decision" style={{ ...section, fontSize: 13, ...muted }}>
          {p.decision === "auto_approve" ? "Ran by policy" : `${p.decision === "reject" ? "Rejected" : "Approved"} by ${p.decided_by}`}
          {p.reason ? `: “${p.reason}”` : ""}
        </div>
      )}

      {mode === "reject" && (
        <div style={section}>
          <Textarea data-testid="reject-reason" placeholder="Why reject it? Baton learns from your reason." value={reason}
            onChange={(e) => setReason(e.target.value)} rows={2} />
        </div>
      )}

      {message && <div data-testid="card-message" role="alert" style={{ ...section, color: "#b91c1c", fontSize: 14 }}>{message}</div>}

      <div style={{ display: "flex", gap: 8, marginTop: 14, flexWrap: "wrap" }}>
        {!decided && p.can_decide && mode === "view" && (
          <>
            <Button size="sm" disabled={busy || failedChecks.length > 0} onClick={() => send("approve", {})}
              title={failedChecks.length ? "Fix the failed policy checks first" : ""}>
              {busy ? <Loader2 size={14} className="animate-spin" /> : <Check size={14} />} Approve
            </Button>
            {p.fields.length > 0 && <Button size="sm" variant="outline" disabled={busy} onClick={startEdit}><Pencil size={14} /> Edit</Button>}
            <Button size="sm" variant="outline" disabled={busy} onClick={() => { setMode("reject"); setMessage(""); }}><X size={14} /> Reject</Button>
          </>
        )}
        {mode === "edit" && (
          <>
            <Button size="sm" disabled={busy} onClick={() => {
              const c = changes();
              if (Object.keys(c).length === 0) { setMessage("Nothing changed."); return; }
              send("edit", { changes: c });
            }}>Save changes</Button>
            <Button size="sm" variant="ghost" disabled={busy} onClick={() => { setMode("view"); setMessage(""); }}>Cancel</Button>
          </>
        )}
        {mode === "reject" && (
          <>
            <Button size="sm" variant="destructive" disabled={busy || !reason.trim()} onClick={() => send("reject", { reason })}>Reject with reason</Button>
            <Button size="sm" variant="ghost" disabled={busy} onClick={() => setMode("view")}>Cancel</Button>
          </>
        )}
        {!decided && !p.can_decide && (
          <span style={{ fontSize: 13, ...muted }}>Needs a {p.required_role} to decide.</span>
        )}
        <Button size="sm" variant="ghost" disabled={busy} onClick={() => callAction({ name: "baton_why", payload: { action_id: p.action_id } })}>
          <HelpCircle size={14} /> Why?
        </Button>
        {decided && (
          <Button size="sm" variant="ghost" onClick={() => setDetails(!details)}>
            {details ? "Hide details" : "Show details"}
          </Button>
        )}
      </div>
    </div>
  );
}
