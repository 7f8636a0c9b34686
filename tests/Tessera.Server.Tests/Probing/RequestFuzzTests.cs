using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Server.Tests.Infrastructure;
using Tessera.Testing;

namespace Tessera.Server.Tests.Probing;

/// <summary>
/// Random and mutated requests to every route of the API (from the server's own OpenAPI document) and every page,
/// against a real server on a loopback port: none may get a 5xx, and every 4xx must be a problem with a code (a page
/// may answer with itself, in HTML; under /oauth2, an RFC 6749 error: JSON with an <c>error</c>). Seeded: TESSERA_FUZZ_SEED repeats a run, TESSERA_FUZZ_REQUESTS makes it longer.
/// </summary>
public sealed class RequestFuzzTests(LoopbackApp app) : IClassFixture<LoopbackApp>
{
    private const int DefaultRequests = 3000;
    private const int RenewEvery = 200;
    private const int FailuresShown = 25;
    private static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task No_request_gets_a_5xx_or_a_4xx_without_a_problem_and_a_code()
    {
        var seed = Knob("TESSERA_FUZZ_SEED") ?? Random.Shared.Next();
        var count = Knob("TESSERA_FUZZ_REQUESTS") ?? DefaultRequests;
        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"TESSERA_FUZZ_SEED={seed} TESSERA_FUZZ_REQUESTS={count}");

        var routes = await RoutesAsync();
        var fuzzer = new RequestFuzzer(new Random(seed), routes);
        // Header values beyond ASCII go out as Latin-1, as a careless client sends them.
        using var client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            RequestHeaderEncodingSelector = (_, _) => System.Text.Encoding.Latin1,
        });
        var failures = new List<string>();
        var seenFailures = new HashSet<string>(StringComparer.Ordinal);
        var statuses = new SortedDictionary<int, int>();
        int serverErrors = 0, withoutCode = 0, refusedByKestrel = 0, unanswered = 0;
        FuzzIdentities who = await IdentitiesAsync();
        for (var i = 0; i < count; i++)
        {
            if (i > 0 && i % RenewEvery == 0)
            {
                // The fuzzer may have ended its own sessions or banned its own user: new ones keep every route reachable.
                who = await IdentitiesAsync(who);
            }

            var request = fuzzer.Next(who);
            using var message = request.ToMessage(app.Server.BaseUrl);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(AnswerWithin);
            HttpResponseMessage response;
            byte[] body;
            try
            {
                response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token);

                // The event stream stays open for as long as its session holds: its headers are the answer.
                body = response.Content.Headers.ContentType?.MediaType == "text/event-stream"
                    ? []
                    : await response.Content.ReadAsByteArrayAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
            {
                unanswered++;
                failures.Add($"request {i}: no answer within {AnswerWithin.TotalSeconds} s\n  {request.ToCurl(app.Server.BaseUrl)}");
                continue;
            }

            using var disposeResponse = response;
            statuses[(int)response.StatusCode] = statuses.GetValueOrDefault((int)response.StatusCode) + 1;
            var verdict = Judge(request, response, body);
            switch (verdict)
            {
                case Verdict.ServerError:
                    serverErrors++;
                    break;
                case Verdict.WithoutCode:
                    withoutCode++;
                    break;
                case Verdict.RefusedByKestrel:
                    refusedByKestrel++;
                    break;
                default:
                    continue;
            }

            if (verdict == Verdict.RefusedByKestrel && refusedByKestrel <= 3)
            {
                output?.WriteLine($"refused by Kestrel, for example: {request.ToCurl(app.Server.BaseUrl)}");
            }

            if (verdict != Verdict.RefusedByKestrel && failures.Count < FailuresShown && seenFailures.Add($"{(int)response.StatusCode} {request.Method} {Shape(request.PathAndQuery)}"))
            {
                var text = System.Text.Encoding.UTF8.GetString(body);
                failures.Add($"request {i}: {(int)response.StatusCode} {response.Content.Headers.ContentType} {text[..Math.Min(300, text.Length)]}\n  {request.ToCurl(app.Server.BaseUrl)}");
            }
        }

        var figures = FuzzFigures.Format(count, serverErrors, withoutCode, refusedByKestrel, unanswered, seed);
        output?.WriteLine(figures);
        output?.WriteLine("answers by status: " + string.Join(", ", statuses.Select(pair => $"{pair.Key}: {pair.Value}")));
        Assert.True(serverErrors == 0 && withoutCode == 0 && unanswered == 0,
            $"{figures}\nRepeat with TESSERA_FUZZ_SEED={seed} TESSERA_FUZZ_REQUESTS={count}. First failures (one per status, method and route):\n{string.Join("\n", failures)}");
    }

    private enum Verdict
    {
        Fine,
        ServerError,
        WithoutCode,
        RefusedByKestrel,
    }

    private static Verdict Judge(FuzzRequest request, HttpResponseMessage response, byte[] body)
    {
        var status = (int)response.StatusCode;
        if (status >= 500)
        {
            return Verdict.ServerError;
        }

        if (status < 400 || request.Method == "HEAD")
        {
            return Verdict.Fine;
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;

        // Under /oauth2 the errors are RFC 6749's (§5.2), not problems: a JSON object with an `error`.
        if (request.PathAndQuery.StartsWith("/oauth2/", StringComparison.OrdinalIgnoreCase))
        {
            if (mediaType == "application/json" && HasMember(body, "error"))
            {
                return Verdict.Fine;
            }
        }
        else if (mediaType == "application/problem+json" && HasMember(body, "code"))
        {
            return Verdict.Fine;
        }

        // A page that refuses (a wrong password, a user not found, the 403 page) answers with itself.
        if (mediaType == "text/html" && !request.PathAndQuery.StartsWith("/v1/", StringComparison.Ordinal)
            && !request.PathAndQuery.StartsWith("/oauth2/", StringComparison.OrdinalIgnoreCase))
        {
            return Verdict.Fine;
        }

        // Kestrel answers a request it cannot parse (a header it refuses, say) with an empty 400, a request line
        // over its limit with an empty 414 and headers over theirs with an empty 431, and closes the connection,
        // before any of the server's code runs.
        var kestrelRefusal = status is 400 or 414 or 431 && body.Length == 0 && response.Headers.ConnectionClose == true;
        return kestrelRefusal ? Verdict.RefusedByKestrel : Verdict.WithoutCode;
    }

    /// <summary>Whether the body is a JSON object with a non-empty string <paramref name="member"/> (a problem's code, an RFC 6749 error).</summary>
    private static bool HasMember(byte[] body, string member)
    {
        try
        {
            using var problem = JsonDocument.Parse(body);
            return problem.RootElement.ValueKind == JsonValueKind.Object
                && problem.RootElement.TryGetProperty(member, out var code) && code.ValueKind == JsonValueKind.String && code.GetString()!.Length > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Every operation of the OpenAPI document, and every page (GET and POST).</summary>
    private async Task<IReadOnlyList<FuzzRoute>> RoutesAsync()
    {
        using var client = app.Server.Api();
        using var document = JsonDocument.Parse(await (await client.Get("/openapi/v1.json")).ReadTextAsync());
        var routes = new List<FuzzRoute>();
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            routes.AddRange(path.Value.EnumerateObject().Select(operation => new FuzzRoute(operation.Name.ToUpperInvariant(), path.Name, IsPage: false)));
        }

        var pages = app.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.Metadata.GetMetadata<ActionDescriptor>() is PageActionDescriptor)
            .Select(endpoint => "/" + endpoint.RoutePattern.RawText!.TrimStart('/'))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        Assert.Contains("/admin/users/{id}", pages);
        Assert.Contains("/v1/admin/users/{id}/ban", routes.Select(route => route.Template));
        Assert.Contains("/oauth2/introspect", routes.Select(route => route.Template));
        routes.AddRange(pages.SelectMany(page => new[] { new FuzzRoute("GET", page, IsPage: true), new FuzzRoute("POST", page, IsPage: true) }));
        return routes;
    }

    /// <summary>A new user with a session, a new admin session, and an antiforgery token with its cookie.</summary>
    private async Task<FuzzIdentities> IdentitiesAsync(FuzzIdentities? previous = null)
    {
        using var client = app.Server.Api();
        var email = TesseraApp.NewEmail("fuzz");
        var registered = await client.Post("/v1/auth/register", new { email, password = LoopbackTesseraServer.Password });
        var user = registered.IsSuccessStatusCode ? await client.Post("/v1/auth/login", new { email, password = LoopbackTesseraServer.Password }) : null;
        var admin = await client.Post("/v1/auth/login", new { email = LoopbackTesseraServer.AdminEmail, password = LoopbackTesseraServer.AdminPassword });
        if (previous is not null && (user?.IsSuccessStatusCode != true || !admin.IsSuccessStatusCode))
        {
            return previous;
        }

        var userBody = await user!.AssertOkJsonAsync();
        var adminBody = await admin.AssertOkJsonAsync();
        var (field, cookie) = await client.AntiforgeryAsync();
        var adminToken = adminBody.GetProperty("token").GetString()!;
        var (clientId, clientSecret) = previous is null ? await CreateClientAsync(adminToken) : (previous.ClientId, previous.ClientSecret);
        return new FuzzIdentities(
            userBody.GetProperty("user").GetProperty("id").GetString()!, email, userBody.GetProperty("token").GetString()!,
            userBody.GetProperty("session").GetProperty("id").GetString()!, adminBody.GetProperty("user").GetProperty("id").GetString()!,
            adminToken, field, cookie, clientId, clientSecret);
    }

    /// <summary>A service client with every scope, for the /oauth2 routes.</summary>
    private async Task<(string Id, string Secret)> CreateClientAsync(string adminToken)
    {
        using var client = app.Server.Api();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminToken);
        var created = await (await client.Post("/v1/admin/clients", new { name = "fuzz", scopes = new[] { "introspect", "revocations", "revoke" } }))
            .AssertOkJsonAsync(HttpStatusCode.Created);
        return (created.GetProperty("client").GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
    }

    /// <summary>The request's path with ids and query values blurred, to show one failure per route.</summary>
    private static string Shape(string pathAndQuery) => pathAndQuery.Split('?')[0].Split('/').Length.ToString(CultureInfo.InvariantCulture) + pathAndQuery.Split('?')[0][..Math.Min(20, pathAndQuery.Split('?')[0].Length)];

    private static int? Knob(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
}
