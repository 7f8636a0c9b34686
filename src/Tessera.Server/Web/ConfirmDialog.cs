namespace Tessera.Server.Web;

/// <summary>
/// A confirmation dialog (<c>Shared/_ConfirmDialog.cshtml</c>): a modal &lt;dialog&gt; that says what will happen and
/// holds the form that does it. A button with <c>data-dialog="Id"</c> opens it; Escape or Cancel closes it.
/// </summary>
internal sealed record ConfirmDialog(string Id, string Title, string Body, string ConfirmLabel, string Handler, bool Danger = true)
{
    public IReadOnlyDictionary<string, string> Fields { get; init; } = new Dictionary<string, string>();

    /// <summary>Adds an optional "Reason" field (kept in the audit log), posted as <c>reason</c>.</summary>
    public bool AsksReason { get; init; }
}
