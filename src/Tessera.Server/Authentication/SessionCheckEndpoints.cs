using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;
using Tessera.AspNetCore.Authentication;
using Tessera.Core;
using Tessera.Core.Clients;
using Tessera.Core.Options;
using Tessera.Core.Sessions;
using Tessera.Server.Contracts;
using Tessera.Server.Http;

namespace Tessera.Server.Authentication;

/// <summary>
/// The session checks every relying app and load balancer makes, on every request of theirs: <c>GET /v1/auth/session</c>
/// (who am I, 200 with the session and the user) and <c>GET|HEAD /v1/auth/session/check</c> (204, nothing to parse).
/// </summary>
/// <remarks>
/// These two are short-circuit endpoints (issue 15): routing runs them at once and the rest of the pipeline (trusted
/// proxies, the problem handlers, the request guard, authentication and authorization, static files, error pages) does
/// not run; half of a bare request's throughput went to that pipeline before the check started. So they do here, in
/// a few lines, what those steps promise on every route: <c>no-store</c> and <c>nosniff</c>; the request guard's
/// refusals (a declared body too large, a charset other than UTF-8, NUL in the query); the Tessera scheme's reading of
/// the token (<c>Authorization: Bearer</c> first, else the <c>tessera_session</c> cookie) and its 401 problem with the
/// session's code and <c>WWW-Authenticate: Bearer</c>; and an exception turned into a problem with a code by the same
/// <see cref="ProblemExceptionHandler"/>. Both count as use of the session, as every session route does; neither is
/// a change, so the CSRF check (changes only) has nothing to check. Trusted proxies do not matter here: nothing below
/// reads the client's address or scheme. The who-am-I body is written with a <see cref="Utf8JsonWriter"/> straight
/// from the cache entry, byte for byte what <see cref="WhoAmIResponse"/> serializes to (a test holds them together).
/// </remarks>
internal sealed class SessionCheckEndpoints(
    SessionValidator validator,
    ServiceClients clients,
    TimeProvider clock,
    IOptions<TesseraOptions> options,
    IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
{
    public const string WhoAmIPath = "/v1/auth/session";

    public const string CheckPath = "/v1/auth/session/check";

    /// <summary>The user's id on a 204 of the light check, for a proxy to pass on (nginx <c>auth_request_set</c>).</summary>
    public const string UserIdHeader = "Tessera-User-Id";

    /// <summary>The session's id on a 204 of the light check.</summary>
    public const string SessionIdHeader = "Tessera-Session-Id";

    private const string JsonContentType = "application/json; charset=utf-8";

    private readonly TimeSpan _idleTimeout = options.Value.Sessions.IdleTimeout;

    private readonly JsonWriterOptions _writerOptions = new()
    {
        // The encoder the framework's serializer uses for every other answer, so that a name outside ASCII is escaped alike.
        Encoder = json.Value.SerializerOptions.Encoder,
        SkipValidation = true,
    };

    [ThreadStatic]
    private static BodyBuffer? t_body;

    /// <summary>Both endpoints, short-circuited (see the remarks of the class).</summary>
    public static IEndpointRouteBuilder Map(IEndpointRouteBuilder endpoints)
    {
        var handler = endpoints.ServiceProvider.GetRequiredService<SessionCheckEndpoints>();
        endpoints.MapGet(WhoAmIPath, (Func<HttpContext, Task>)handler.WhoAmIAsync)
            .WithTags("Auth")
            .Produces<WhoAmIResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ShortCircuit();
        endpoints.MapMethods(CheckPath, [HttpMethods.Get, HttpMethods.Head], (Func<HttpContext, Task>)handler.CheckAsync)
            .WithTags("Auth")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ShortCircuit();
        return endpoints;
    }

    /// <summary>GET /v1/auth/session: 200 <c>{session, user}</c>; a session made through a client costs one read for the client's name.</summary>
    public Task WhoAmIAsync(HttpContext context)
    {
        var pending = CheckAsync(context, out var check);
        if (pending is not null)
        {
            return pending;
        }

        var entry = check.Entry!;
        return entry.ClientId is null
            ? WriteWhoAmI(context, entry, clientName: null)
            : WhoAmIWithClientAsync(context, entry);
    }

    /// <summary>GET or HEAD /v1/auth/session/check: 204 with the user's and the session's ids in headers, or the session's 401.</summary>
    public Task CheckAsync(HttpContext context)
    {
        var pending = CheckAsync(context, out var check);
        if (pending is not null)
        {
            return pending;
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status204NoContent;
        response.Headers[UserIdHeader] = check.Entry!.User.User.Id;
        response.Headers[SessionIdHeader] = check.Entry.Id;
        return Task.CompletedTask;
    }

    /// <summary>
    /// The guard, the token and the check: null with a session that holds in <paramref name="check"/> when the check was
    /// answered at once (a cache hit); otherwise the task that finishes the request (a refusal, a miss, an exception).
    /// </summary>
    private Task? CheckAsync(HttpContext context, out SessionCheck check)
    {
        check = default;
        ResponseHeaders.Apply(context.Response);
        try
        {
            var refusal = RequestGuard.RefuseAsync(context.Request);
            if (!refusal.IsCompletedSuccessfully || refusal.Result is not null)
            {
                return FinishRefusedAsync(context, refusal);
            }

            var token = TesseraSessionToken.Read(context.Request, SessionCredentials.CookieName, out _);
            if (token is null)
            {
                return Refuse(context, SessionVerdict.Unauthenticated);
            }

            var checking = validator.CheckAsync(token, SessionUse.Activity, context.RequestAborted);
            if (!checking.IsCompletedSuccessfully)
            {
                return FinishCheckAsync(context, checking);
            }

            check = checking.Result;
            return check.Holds && check.Entry is not null ? null : Refuse(context, check.Verdict);
        }
        catch (Exception exception)
        {
            return HandleAsync(context, exception);
        }
    }

    private async Task FinishRefusedAsync(HttpContext context, Task<Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult?> refusal)
    {
        try
        {
            if (await refusal is { } problem)
            {
                await Problems.WriteAsync(context, problem);
                return;
            }

            // The guard read a form first (it had one): check again, this time to the end.
            if (CheckAsync(context, out var check) is { } pending)
            {
                await pending;
                return;
            }

            await FinishHoldingAsync(context, check);
        }
        catch (Exception exception)
        {
            await HandleAsync(context, exception);
        }
    }

    private async Task FinishCheckAsync(HttpContext context, ValueTask<SessionCheck> checking)
    {
        try
        {
            var check = await checking;
            if (!check.Holds || check.Entry is null)
            {
                await Refuse(context, check.Verdict);
                return;
            }

            await FinishHoldingAsync(context, check);
        }
        catch (Exception exception)
        {
            await HandleAsync(context, exception);
        }
    }

    /// <summary>After a check that took I/O (a miss): the answer of whichever endpoint this is.</summary>
    private async Task FinishHoldingAsync(HttpContext context, SessionCheck check)
    {
        if (context.Request.Path.Equals(CheckPath, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            context.Response.Headers[UserIdHeader] = check.Entry!.User.User.Id;
            context.Response.Headers[SessionIdHeader] = check.Entry.Id;
            return;
        }

        var entry = check.Entry!;
        if (entry.ClientId is null)
        {
            await WriteWhoAmI(context, entry, clientName: null);
        }
        else
        {
            await WhoAmIWithClientAsync(context, entry);
        }
    }

    private async Task WhoAmIWithClientAsync(HttpContext context, Core.Caching.CachedSession entry)
    {
        try
        {
            var names = await clients.NamesAsync([entry.ClientId], context.RequestAborted);
            await WriteWhoAmI(context, entry, names.GetValueOrDefault(entry.ClientId!));
        }
        catch (Exception exception)
        {
            await HandleAsync(context, exception);
        }
    }

    /// <summary>The who-am-I answer, with its length, in one write (no chunked encoding).</summary>
    private Task WriteWhoAmI(HttpContext context, Core.Caching.CachedSession entry, string? clientName)
    {
        var body = t_body ??= new BodyBuffer();
        var writer = body.Start(_writerOptions);
        WriteWhoAmI(writer, entry, clientName, clock.GetUtcNow(), _idleTimeout);
        writer.Flush();

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = JsonContentType;
        response.ContentLength = body.Written.Length;
        // Copied into the response's pipe before this returns (the thread's buffer is free again); Kestrel flushes it as
        // the request ends.
        response.BodyWriter.Write(body.Written.Span);
        return Task.CompletedTask;
    }

    /// <summary>
    /// <see cref="WhoAmIResponse"/> as the API's serializer writes it (camelCase, nulls written, timestamps by
    /// <see cref="UtcTimestampConverter"/>), from the session as cached: <c>session.current</c> is true.
    /// </summary>
    internal static void WriteWhoAmI(
        Utf8JsonWriter writer, Core.Caching.CachedSession entry, string? clientName, DateTimeOffset now, TimeSpan idleTimeout)
    {
        var user = entry.User.User;
        writer.WriteStartObject();
        writer.WriteStartObject(Names.Session);
        writer.WriteString(Names.Id, entry.Id);
        writer.WriteStartObject(Names.Device);
        writer.WriteString(Names.Name, entry.Device.Name);
        writer.WriteString(Names.Platform, WireNames.PlatformName(entry.Device.Platform));
        writer.WriteString(Names.Os, entry.Device.Os);
        writer.WriteString(Names.Browser, entry.Device.Browser);
        writer.WriteEndObject();
        writer.WriteString(Names.IpAddress, entry.IpAddress);
        WriteTimestamp(writer, Names.CreatedAt, entry.CreatedAt);
        WriteTimestamp(writer, Names.LastActiveAt, entry.LastActiveAt);
        WriteTimestamp(writer, Names.ExpiresAt, entry.ExpiresAt(idleTimeout));
        writer.WriteBoolean(Names.Current, true);
        writer.WriteString(Names.ClientId, entry.ClientId);
        writer.WriteString(Names.Client, entry.ClientId is null ? null : clientName);
        writer.WriteEndObject();

        writer.WriteStartObject(Names.User);
        writer.WriteString(Names.Id, user.Id);
        writer.WriteString(Names.Email, user.Email);
        writer.WriteString(Names.DisplayName, user.DisplayName);
        writer.WriteString(Names.Role, WireNames.RoleName(user.Role));
        writer.WriteString(Names.Status, WireNames.StatusName(user.Status));
        if (user.Banned && user.BannedUntil is { } bannedUntil)
        {
            WriteTimestamp(writer, Names.BannedUntil, bannedUntil);
        }
        else
        {
            writer.WriteNull(Names.BannedUntil);
        }

        writer.WriteBoolean(Names.Banned, user.IsBannedAt(now));
        WriteTimestamp(writer, Names.CreatedAt, user.CreatedAt);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteTimestamp(Utf8JsonWriter writer, JsonEncodedText name, DateTimeOffset value)
    {
        writer.WritePropertyName(name);
        UtcTimestampConverter.WriteValue(writer, value);
    }

    private static Task Refuse(HttpContext context, SessionVerdict verdict)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Problems.SessionRejected(verdict).ExecuteAsync(context);
    }

    /// <summary>What the exception handler does on every other route: the problem with a code, logged when it is a 5xx.</summary>
    private static async Task HandleAsync(HttpContext context, Exception exception)
    {
        if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
        {
            return; // the client left; nobody reads an answer
        }

        if (context.Response.HasStarted)
        {
            throw exception;
        }

        context.Response.Clear();
        ResponseHeaders.Apply(context.Response);
        foreach (var handler in context.RequestServices.GetServices<IExceptionHandler>())
        {
            if (await handler.TryHandleAsync(context, exception, context.RequestAborted))
            {
                return;
            }
        }

        throw exception;
    }


    /// <summary>A thread's buffer and writer for the who-am-I body, reused: nothing allocated per answer.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Kept for the thread's life; the writer holds no unmanaged resource.")]
    private sealed class BodyBuffer
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(1024);
        private Utf8JsonWriter? _writer;

        public ReadOnlyMemory<byte> Written => _buffer.WrittenMemory;

        public Utf8JsonWriter Start(JsonWriterOptions options)
        {
            _buffer.ResetWrittenCount();
            if (_writer is null || !ReferenceEquals(_writer.Options.Encoder, options.Encoder))
            {
                _writer = new Utf8JsonWriter(_buffer, options);
            }
            else
            {
                _writer.Reset(_buffer);
            }

            return _writer;
        }
    }

    /// <summary>The property names, encoded once.</summary>
    private static class Names
    {
        public static readonly JsonEncodedText Session = JsonEncodedText.Encode("session");
        public static readonly JsonEncodedText User = JsonEncodedText.Encode("user");
        public static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
        public static readonly JsonEncodedText Device = JsonEncodedText.Encode("device");
        public static readonly JsonEncodedText Name = JsonEncodedText.Encode("name");
        public static readonly JsonEncodedText Platform = JsonEncodedText.Encode("platform");
        public static readonly JsonEncodedText Os = JsonEncodedText.Encode("os");
        public static readonly JsonEncodedText Browser = JsonEncodedText.Encode("browser");
        public static readonly JsonEncodedText IpAddress = JsonEncodedText.Encode("ipAddress");
        public static readonly JsonEncodedText CreatedAt = JsonEncodedText.Encode("createdAt");
        public static readonly JsonEncodedText LastActiveAt = JsonEncodedText.Encode("lastActiveAt");
        public static readonly JsonEncodedText ExpiresAt = JsonEncodedText.Encode("expiresAt");
        public static readonly JsonEncodedText Current = JsonEncodedText.Encode("current");
        public static readonly JsonEncodedText ClientId = JsonEncodedText.Encode("clientId");
        public static readonly JsonEncodedText Client = JsonEncodedText.Encode("client");
        public static readonly JsonEncodedText Email = JsonEncodedText.Encode("email");
        public static readonly JsonEncodedText DisplayName = JsonEncodedText.Encode("displayName");
        public static readonly JsonEncodedText Role = JsonEncodedText.Encode("role");
        public static readonly JsonEncodedText Status = JsonEncodedText.Encode("status");
        public static readonly JsonEncodedText BannedUntil = JsonEncodedText.Encode("bannedUntil");
        public static readonly JsonEncodedText Banned = JsonEncodedText.Encode("banned");
    }
}
