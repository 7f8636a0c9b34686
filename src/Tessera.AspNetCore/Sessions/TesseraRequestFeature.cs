using Tessera.AspNetCore.Verdicts;

namespace Tessera.AspNetCore;

/// <summary>What the handler learned about the request's session, for <c>GetTesseraSession()</c> and sign-out.</summary>
internal sealed class TesseraRequestFeature(TesseraAuthority authority, string token, Verdict verdict)
{
    public TesseraAuthority Authority { get; } = authority;

    public string Token { get; } = token;

    public Verdict Verdict { get; } = verdict;

    public TesseraSession? Session { get; set; }
}
