using Tessera.Server.Http;

namespace Tessera.Server.Hosting;

/// <summary>
/// The server's own settings under the <c>Tessera</c> configuration section: where it keeps its files, and which
/// proxies it trusts. Checked at start-up by <see cref="TesseraServerOptionsValidator"/>.
/// </summary>
internal sealed class TesseraServerOptions
{
    /// <summary>
    /// Where the node keeps its files (<c>Tessera:DataDirectory</c>): the SQLite database (which the SQLite store
    /// binds from the same setting), the Data Protection keys when no store keeps them, and the outbox of sent messages.
    /// </summary>
    public string DataDirectory { get; set; } = "./data";

    public ForwardedHeadersSettings ForwardedHeaders { get; set; } = new();
}
