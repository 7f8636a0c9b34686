using System.Net;
using System.Text.Json;

namespace Tessera.Cli.Api;

/// <summary>A problem answer (RFC 9457) from Tessera: its status, its <c>code</c> and what it says.</summary>
internal sealed class ApiException(HttpStatusCode status, string code, string message, JsonElement? problem) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;

    public string Code { get; } = code;

    public JsonElement? Problem { get; } = problem;

    /// <summary>401: the token no longer holds (or never did); the operator must sign in again.</summary>
    public bool SessionEnded => Status == HttpStatusCode.Unauthorized;

    public bool NotFound => Status == HttpStatusCode.NotFound;
}
