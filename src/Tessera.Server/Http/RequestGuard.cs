using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace Tessera.Server.Http;

/// <summary>
/// What every request must be before any endpoint or page reads it, answered with a problem at once when it is not:
/// a body within the size limit, in UTF-8 (the only encoding JSON may travel in, RFC 8259), a form the framework can
/// read, and no NUL character in the path or the query (no store can keep one: PostgreSQL refuses it in text, so it
/// must not reach a query). The framework's form reader refuses NUL in form values itself; JSON bodies are checked as
/// they are read (<see cref="StrictStringConverter"/>).
/// </summary>
internal static class RequestGuard
{
    /// <summary>Request bodies are small JSON documents; anything larger is refused before it is read.</summary>
    public const long MaxBodyBytes = 64 * 1024;

    public static Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        // Most requests are decided at once (no form to read): then no state machine is kept around the rest of the pipeline.
        var refusal = RefuseAsync(context.Request);
        return refusal.IsCompletedSuccessfully && refusal.Result is null ? next(context) : RefuseThenNextAsync(context, refusal, next);
    }

    private static async Task RefuseThenNextAsync(HttpContext context, Task<ProblemHttpResult?> refusal, RequestDelegate next)
    {
        if (await refusal is { } problem)
        {
            await Problems.WriteAsync(context, problem);
            return;
        }

        await next(context);
    }

    /// <summary>The problem that refuses the request, or null when it may go on.</summary>
    internal static async Task<ProblemHttpResult?> RefuseAsync(HttpRequest request)
    {
        // Kestrel enforces the limit on streamed bodies; this answers declared oversize bodies at once, on any server.
        if (request.ContentLength > MaxBodyBytes)
        {
            return Problems.Create(ErrorCatalog.PayloadTooLarge, $"Request bodies are limited to {MaxBodyBytes} bytes.");
        }

        if (!TryNormalizeCharset(request))
        {
            return Problems.Create(ErrorCatalog.UnsupportedMediaType,
                "Send the body in UTF-8 (charset=utf-8, or no charset at all).");
        }

        if (request.Path.Value?.Contains('\0', StringComparison.Ordinal) == true || HasNul(request.Query))
        {
            return NulRefused();
        }

        if (!request.HasFormContentType)
        {
            return null;
        }

        try
        {
            // Read once here (the pages get the cached copy), so that a form that cannot be read is a 400 with the
            // reason, whichever page or value provider would have met it first.
            await request.ReadFormAsync(request.HttpContext.RequestAborted);
        }
        catch (InvalidDataException unreadable)
        {
            // Too many fields, a field too long, a NUL in a value, a broken multipart boundary: the message says which.
            return Problems.Create(Core.ErrorCodes.ValidationFailed, unreadable.Message);
        }
        catch (IOException) when (!request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // A multipart body that ends before its closing boundary, from a client that is still there.
            return Problems.Create(Core.ErrorCodes.ValidationFailed, "The form ends before its last part does.");
        }

        return null;
    }

    private static ProblemHttpResult NulRefused() =>
        Problems.Create(Core.ErrorCodes.ValidationFailed, "The request contains a NUL character, which no field accepts.");

    /// <summary>
    /// A body declared in another charset is refused; one declared as UTF-8 in any spelling ("UTF-8", quoted, "utf8")
    /// is re-declared as plain <c>charset=utf-8</c>, because the framework's JSON reader fails on the other spellings.
    /// </summary>
    private static bool TryNormalizeCharset(HttpRequest request)
    {
        if (request.ContentType is not { } contentType || !MediaTypeHeaderValue.TryParse(contentType, out var mediaType))
        {
            return true;
        }

        var parameter = mediaType.Parameters.FirstOrDefault(p => p.Name.Equals("charset", StringComparison.OrdinalIgnoreCase));
        if (parameter is null)
        {
            return true;
        }

        var charset = HeaderUtilities.RemoveQuotes(parameter.Value);
        if (!charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (!parameter.Value.Equals("utf-8", StringComparison.Ordinal))
        {
            mediaType.Charset = "utf-8";
            request.ContentType = mediaType.ToString();
        }

        return true;
    }

    private static bool HasNul(IEnumerable<KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>> pairs) =>
        pairs.Any(pair => pair.Key.Contains('\0', StringComparison.Ordinal)
            || pair.Value.Any(value => value?.Contains('\0', StringComparison.Ordinal) == true));
}
