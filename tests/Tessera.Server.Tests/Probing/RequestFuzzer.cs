using System.Globalization;
using System.Text;

namespace Tessera.Server.Tests.Probing;

/// <summary>A route of the server: its method and path template (<c>/v1/admin/users/{id}/ban</c>), and whether it is a page.</summary>
public sealed record FuzzRoute(string Method, string Template, bool IsPage);

/// <summary>Who the fuzzer can be, and the ids it has seen: renewed now and then, since the fuzzer may end its own sessions.</summary>
public sealed record FuzzIdentities(
    string UserId, string UserEmail, string UserToken, string UserSessionId, string AdminId, string AdminToken, string AntiforgeryToken, string AntiforgeryCookie,
    string ClientId = "cli_none", string ClientSecret = "none");

/// <summary>
/// Random and mutated requests for the routes it is given, from one seed: methods, paths with odd ids, query strings,
/// headers, charsets, credentials, and bodies that start valid and are then broken in the ways clients break them.
/// </summary>
public sealed class RequestFuzzer(Random random, IReadOnlyList<FuzzRoute> routes)
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "get"];

    private static readonly string[] NastyStrings =
    [
        "", " ", "a", "Zoë", "李", "\U0001F600", "\u0000", "a\u0000b", "\u202Eevil", "\u2066x\u2069", "\u200B", "\u200D\uFEFF", "\u3164",
        "\r\n", "\t", "\u0007", "\u0085", "\u2028", "' OR 1=1 --", "\"; DROP TABLE users; --", "%00", "%", "../../etc/passwd", "\\\\server\\share",
        "null", "true", "-1", "0", "1e309", "9223372036854775808", "2026-13-45T99:99:99Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
        "2020-01-01T00:00:00Z", "2099-01-01T00:00:00+14:00", "a@b", "a@b.c", "@example.com", "user@例え.jp", "<script>alert(1)</script>",
        "ban", "delete", "revoke_sessions", "unban", "deactivate", "reactivate", "active", "banned", "web", "cli", "mobile",
        new string('x', 5000), new string('é', 300), "correct-horse-1", "correct-horse-2",
    ];

    private static readonly string[] OddPathSegments =
    [
        "", "%20", "%2F", "%2f", "%00", "%C3%A9t%C3%A9", "%E2%80%AE", "%E2%80%A8", "%E3%80%80", "%FF", "%C0%AF", "%", "%2", "..", ".",
        "%2E%2E", "usr_", "ses_", "usr_00000000000000000000000000000000", "'%20OR%201=1", "%3Cscript%3E", new string('x', 3000), "~", "%7E",
        "a;b", "a,b", "%252F", "%u0041", "+", "%2B", "CON", "null",
    ];

    private static readonly string[] OddReturnUrls =
    [
        "/", "/account", "//evil.example", "/\\evil.example", "https://evil.example", "/%C3%A9t%C3%A9", "/%E2%80%A8", "/%E3%80%80/evil.example",
        "/%09/evil.example", "/%00", "%2F%2Fevil.example", "/login", "/LOGIN?x=1", "javascript:alert(1)", "/%E2%80%AE", "~/x", "/a%20b", "/%ZZ",
    ];

    private static readonly string[] MediaTypes =
    [
        "application/json", "application/json; charset=utf-8", "application/json; charset=UTF-8", "application/json; charset=\"utf-8\"",
        "application/json; charset=utf8", "application/json; charset=bogus", "application/json; charset=utf-7", "application/json; charset=utf-16",
        "application/json; charset=iso-8859-1", "application/json; charset=", "application/json; charset", "application/json;;",
        "application/problem+json", "application/merge-patch+json", "text/json", "text/plain", "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=bogus", "multipart/form-data", "multipart/form-data; boundary=xyz",
        "multipart/form-data; boundary=", "application/xml", "*/*", "???", "application/json; boundary=x; charset=utf-8; q=abc",
    ];

    private static readonly string[] JsonFields =
    [
        "email", "password", "displayName", "device", "useCookie", "currentPassword", "newPassword", "token", "reason", "until", "action",
        "userIds", "name", "platform", "os",
    ];

    private static readonly string[] FormFields =
    [
        "Email", "Password", "DisplayName", "ReturnUrl", "CurrentPassword", "NewPassword", "ConfirmPassword", "reason", "until", "untilUtc",
        "sessionId", "action", "userIds", "search", "Ended",
    ];

    private static readonly string[] Handlers = ["Password", "Revoke", "RevokeOthers", "RevokeAll", "Deactivate", "Reactivate", "Ban", "Unban", "Delete",
        "RevokeSessions", "RevokeSession", "Bulk", "Nope", ""];

    public FuzzRequest Next(FuzzIdentities who)
    {
        var route = routes[random.Next(routes.Count)];
        var method = Chance(0.85) ? route.Method : Pick(Methods);
        var headers = new List<KeyValuePair<string, string>>();
        AddCredentials(headers, who, route);
        AddOddHeaders(headers);
        var path = FillPath(route.Template, who) + Query(route);
        var (contentType, body) = method is "GET" or "HEAD" && Chance(0.9) ? (null, null) : Body(route, who);
        if (route.IsPage && body is not null && contentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.Ordinal) == true && Chance(0.85))
        {
            // One Cookie header, as browsers send it.
            var session = headers.FindIndex(h => h.Key == "Cookie");
            var cookie = session < 0 ? who.AntiforgeryCookie : $"{who.AntiforgeryCookie}; {headers[session].Value}";
            if (session >= 0)
            {
                headers.RemoveAt(session);
            }

            headers.Add(new("Cookie", cookie));
        }

        return new FuzzRequest(method, path, headers, contentType, body);
    }

    private void AddCredentials(List<KeyValuePair<string, string>> headers, FuzzIdentities who, FuzzRoute route)
    {
        if (TakesClientCredentials(route) && Chance(0.7))
        {
            // A service client's HTTP Basic credentials, right, wrong or broken (RFC 6749 §2.3.1).
            var (id, secret) = random.Next(6) switch
            {
                < 3 => (who.ClientId, who.ClientSecret),
                3 => (who.ClientId, Pick(NastyStrings)),
                4 => (Pick(NastyStrings), who.ClientSecret),
                _ => (Uri.EscapeDataString(who.ClientId), who.ClientSecret + "x"),
            };
            headers.Add(new("Authorization", random.Next(8) switch
            {
                < 6 => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{id}:{secret}")),
                6 => "Basic " + Pick(["", "!!!", "=", Convert.ToBase64String(Bytes(random.Next(1, 40))), Convert.ToBase64String(Encoding.UTF8.GetBytes(id))]),
                _ => Pick(["Basic", "basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{id}:{secret}")), "Bearer " + who.UserToken, "Digest x"]),
            }));
            return;
        }

        var token = random.Next(10) switch
        {
            < 4 => who.AdminToken,
            < 7 => who.UserToken,
            7 => null,
            8 => Pick(["", "x", new string('A', 43), who.UserToken + "x", who.UserToken[..20], "%00", "\u00e9t\u00e9"]),
            _ => Convert.ToBase64String(Bytes(random.Next(1, 60))),
        };
        if (token is null)
        {
            return;
        }

        if (route.IsPage || Chance(0.2))
        {
            headers.Add(new("Cookie", Chance(0.9) ? $"tessera_session={token}" : Pick(["tessera_session", "tessera_session=;", $"tessera_session={token}; tessera_session=x", "=;=;", "tessera_session=%ZZ"])));
        }
        else
        {
            headers.Add(new("Authorization", Chance(0.85) ? $"Bearer {token}" : Pick(["Bearer", "Bearer ", "bearer  " + token, "Basic Zm9vOmJhcg==", "Bearer " + token + " extra", "Token " + token])));
        }
    }

    private void AddOddHeaders(List<KeyValuePair<string, string>> headers)
    {
        if (Chance(0.5))
        {
            headers.Add(new("Accept", Pick(["text/html", "*/*", "application/json", "application/problem+json", "text/plain", "image/png", "text/html;q=abc", ";;;", "application/*; q=0"])));
        }

        if (Chance(0.2))
        {
            headers.Add(new("Accept-Language", Pick(["en;q=abc", "*", "xx-YYYY-zzzz", "en-US,en;q=0.9", ";q=1", "de-DE-u-co-phonebk", new string('a', 300)])));
        }

        if (Chance(0.15))
        {
            headers.Add(new("X-Forwarded-Proto", Pick(["", "https", "ftp", "http, https", "\u00e9"])));
        }

        if (Chance(0.15))
        {
            headers.Add(new("X-Forwarded-For", Pick(["", "1.2.3.4", "::1", "not-an-ip", "1.2.3.4, 5.6.7.8", "999.999.999.999", "[::1]:80"])));
        }

        if (Chance(0.2))
        {
            headers.Add(new(Pick(["Origin", "Sec-Fetch-Site"]), Pick(["null", "https://evil.example", "same-origin", "cross-site", "none", "", "http://127.0.0.1"])));
        }

        if (Chance(0.3))
        {
            headers.Add(new("User-Agent", Pick(["", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                new string('(', 600), "curl/8.0", "Mozilla/5.0 (" + new string('a', 2000), "\u00e9\u00e8", "() { :; }; echo"])));
        }

        if (Chance(0.05))
        {
            headers.Add(new(Pick(["If-None-Match", "Range", "Content-Encoding", "Expect", "Transfer-Encoding-X", "X-HTTP-Method-Override"]), Pick(["*", "bytes=0-1", "gzip", "100-continue", "DELETE", "\"x\""])));
        }
    }

    private string FillPath(string template, FuzzIdentities who)
    {
        var path = new StringBuilder();
        foreach (var segment in template.Split('/').Skip(1))
        {
            path.Append('/');
            path.Append(segment switch
            {
                "{id}" => random.Next(6) switch
                {
                    0 => who.UserId,
                    1 => who.AdminId,
                    2 => who.UserSessionId,
                    _ => Pick(OddPathSegments),
                },
                "{sessionId}" => Chance(0.4) ? who.UserSessionId : Pick(OddPathSegments),
                "{documentName}" => Pick(["v1", "v2", "%00", "..", "V1"]),
                _ => segment,
            });
        }

        if (Chance(0.05))
        {
            path.Append(Pick(["/", "//", "/x", "%2F", ";x", "/."]));
        }

        return path.Length == 0 ? "/" : path.ToString();
    }

    private string Query(FuzzRoute route)
    {
        if (Chance(0.5))
        {
            return string.Empty;
        }

        string[] names = route.IsPage
            ? ["returnUrl", "ended", "handler", "search", "status", "page", "userId", "action", "after", "before", "q"]
            : ["search", "status", "page", "pageSize", "userId", "action", "after", "before", "limit", "x"];
        var pairs = Enumerable.Range(0, random.Next(1, 4)).Select(_ =>
        {
            var name = Pick(names);
            var value = name switch
            {
                "returnUrl" => Chance(0.7) ? Pick(OddReturnUrls) : Uri.EscapeDataString(Pick(NastyStrings)),
                "handler" => Pick(Handlers),
                "ended" => Pick(["user_banned", "session_expired", "revoked_by_user", "nope", "%00", ""]),
                "page" or "pageSize" or "limit" => Pick(["1", "0", "-1", "200", "201", "99999999999", "abc", "1.5", "%00", ""]),
                "after" or "before" => Pick(["2026-01-01T00:00:00Z", "abc", "9999-99-99", "0", "%2B01:00", ""]),
                _ => Chance(0.5) ? Pick(OddPathSegments) : Uri.EscapeDataString(Pick(NastyStrings)),
            };
            return $"{name}={value}";
        });
        return "?" + string.Join(Chance(0.9) ? "&" : ";", pairs);
    }

    private (string? ContentType, byte[]? Body) Body(FuzzRoute route, FuzzIdentities who)
    {
        if (Chance(0.08))
        {
            return (Chance(0.5) ? Pick(MediaTypes) : null, Chance(0.5) ? [] : null);
        }

        if (IsOAuth(route) && Chance(0.8))
        {
            return (Chance(0.85) ? "application/x-www-form-urlencoded" : Pick(MediaTypes), OAuthForm(who));
        }

        if (route.IsPage)
        {
            return random.Next(10) switch
            {
                < 7 => (Pick(["application/x-www-form-urlencoded", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
                    "application/x-www-form-urlencoded; charset=bogus"]), Form(who)),
                7 => (Pick(MediaTypes), Form(who)),
                8 => ("multipart/form-data; boundary=" + Pick(["xyz", "", "\"a b\"", new string('b', 100)]), Encoding.UTF8.GetBytes($"--xyz\r\nContent-Disposition: form-data; name=\"Email\"\r\n\r\n{Pick(NastyStrings)}\r\n--xyz--")),
                _ => (Pick(MediaTypes), Bytes(random.Next(0, 300))),
            };
        }

        var json = Json(who);
        var bytes = Encoding.UTF8.GetBytes(random.Next(10) switch
        {
            < 4 => json,
            < 8 => Mutate(json),
            8 => Pick(["[", "{", "null", "[]", "\"x\"", "42", "{\"a\":" + new string('[', 2000), "{}{}", "{\"email\":\"\\uD800\"}", "{\"email\":\"\\u0000\"}",
                "{\"userIds\":[" + string.Join(',', Enumerable.Repeat("\"usr_x\"", 1200)) + "],\"action\":\"ban\"}"]),
            _ => string.Empty,
        });
        if (Chance(0.05))
        {
            bytes = Bytes(random.Next(1, 400));
        }

        return (Chance(0.7) ? Pick(MediaTypes[..5]) : Pick(MediaTypes), bytes);
    }

    private string Json(FuzzIdentities who)
    {
        var fields = JsonFields.Where(_ => Chance(0.35)).ToList();
        var members = fields.Select(field => $"\"{field}\": {JsonValue(field, who)}");
        return "{" + string.Join(", ", members) + "}";
    }

    private string JsonValue(string field, FuzzIdentities who)
    {
        if (Chance(0.15))
        {
            return Pick(["null", "true", "1", "-1.5e3", "[]", "{}", "[1, \"a\"]", "{\"name\": 1}", "1e999", "\"\\uD800\"", "\"\\u0000\"", "\"\\u202E\""]);
        }

        var value = field switch
        {
            "email" => Pick([who.UserEmail, $"fuzz-{random.Next(1000)}@example.com", Pick(NastyStrings)]),
            "password" or "currentPassword" or "newPassword" => Pick(["correct-horse-1", "correct-horse-2", "x", Pick(NastyStrings)]),
            "userIds" => null,
            "device" => null,
            "useCookie" => null,
            _ => Pick(NastyStrings),
        };
        return field switch
        {
            "userIds" => "[" + string.Join(", ", Enumerable.Range(0, random.Next(0, 4)).Select(_ => Quote(Pick([who.UserId, who.AdminId, Pick(NastyStrings)])))) + "]",
            "device" => $"{{\"name\": {Quote(Pick(NastyStrings))}, \"platform\": {Quote(Pick(["web", "desktop", "mobile", "cli", "api", "WEB", "tv", ""]))}, \"os\": {Quote(Pick(NastyStrings))}}}",
            "useCookie" => Pick(["true", "false", "\"yes\"", "1"]),
            _ => Quote(value!),
        };
    }

    private string Mutate(string json)
    {
        var text = new StringBuilder(json);
        for (var i = random.Next(1, 4); i > 0; i--)
        {
            var at = text.Length == 0 ? 0 : random.Next(text.Length);
            switch (random.Next(6))
            {
                case 0 when text.Length > 0:
                    text.Remove(at, 1);
                    break;
                case 1:
                    text.Insert(at, Pick(["{", "}", "[", "]", "\"", ",", ":", "\\", "\\u", "\u0000", "\uFFFF", "é", "1e", "/*", "'"]));
                    break;
                case 2 when text.Length > 0:
                    text.Length = at;
                    break;
                case 3:
                    text.Insert(0, "[").Append(']');
                    break;
                case 4 when text.Length > 0:
                    text.Insert(at, text.ToString(at, Math.Min(20, text.Length - at)));
                    break;
                default:
                    text.Replace("\"", "'", at, text.Length - at);
                    break;
            }
        }

        return text.ToString();
    }

    private static bool IsOAuth(FuzzRoute route) => route.Template.StartsWith("/oauth2/", StringComparison.Ordinal);

    /// <summary>The routes a service client calls with HTTP Basic: /oauth2, the revocation stream and its acknowledgements.</summary>
    private static bool TakesClientCredentials(FuzzRoute route) =>
        IsOAuth(route) || route.Template.StartsWith("/v1/revocations", StringComparison.Ordinal);

    /// <summary>An RFC 7662 / RFC 7009 form: the token (a live one, a broken one, or junk), a hint, and sometimes the client's credentials too.</summary>
    private byte[] OAuthForm(FuzzIdentities who)
    {
        var fields = new List<string>();
        if (Chance(0.85))
        {
            fields.Add("token=" + Uri.EscapeDataString(random.Next(5) switch
            {
                < 2 => who.UserToken,
                2 => who.AdminToken,
                3 => who.UserToken[..Math.Min(20, who.UserToken.Length)],
                _ => Pick(NastyStrings),
            }));
        }

        if (Chance(0.1))
        {
            fields.Add("token=" + Uri.EscapeDataString(who.UserToken));
        }

        if (Chance(0.3))
        {
            fields.Add("token_type_hint=" + Pick(["access_token", "refresh_token", "bogus", "%00", ""]));
        }

        if (Chance(0.25))
        {
            fields.Add("client_id=" + Uri.EscapeDataString(Chance(0.7) ? who.ClientId : Pick(NastyStrings)));
            fields.Add("client_secret=" + Uri.EscapeDataString(Chance(0.7) ? who.ClientSecret : Pick(NastyStrings)));
        }

        if (Chance(0.05))
        {
            fields.Add(Pick(["%ZZ", "=", "&&", "token", "a=%00"]));
        }

        return Encoding.UTF8.GetBytes(string.Join("&", fields.OrderBy(_ => random.Next())));
    }

    private byte[] Form(FuzzIdentities who)
    {
        var pairs = FormFields.Where(_ => Chance(0.3)).Select(field => $"{field}={FormValue(field, who)}").ToList();
        if (Chance(0.85))
        {
            pairs.Add($"__RequestVerificationToken={Uri.EscapeDataString(who.AntiforgeryToken)}");
        }

        if (Chance(0.05))
        {
            pairs.Add(Pick(["%", "=", "&&&", "a=%ZZ", "x=" + new string('y', 10000), string.Join('&', Enumerable.Repeat("a=b", 2000))]));
        }

        return Encoding.UTF8.GetBytes(string.Join('&', pairs));
    }

    private string FormValue(string field, FuzzIdentities who) => field switch
    {
        "ReturnUrl" => Pick(OddReturnUrls),
        "Email" => Uri.EscapeDataString(Pick([who.UserEmail, Pick(NastyStrings)])),
        "sessionId" => Chance(0.5) ? who.UserSessionId : Pick(OddPathSegments),
        "userIds" => Chance(0.5) ? who.UserId : Pick(OddPathSegments),
        "action" => Pick(["ban", "unban", "delete", "deactivate", "reactivate", "revoke_sessions", "nope", "%00"]),
        "until" or "untilUtc" => Pick(["2099-01-01T00:00", "2020-01-01T00:00:00Z", "abc", "", "9999-12-31T23:59:59.9999999Z", "%00"]),
        _ => Uri.EscapeDataString(Pick(NastyStrings)),
    };

    private static string Quote(string value)
    {
        var quoted = new StringBuilder("\"");
        foreach (var c in value)
        {
            quoted.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        return quoted.Append('"').ToString();
    }

    private byte[] Bytes(int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private bool Chance(double probability) => random.NextDouble() < probability;

    private string Pick(string[] items) => items[random.Next(items.Length)];
}

/// <summary>Formats the figures of a run.</summary>
internal static class FuzzFigures
{
    public static string Format(int requests, int serverErrors, int withoutCode, int refusedByKestrel, int unanswered, int seed) =>
        string.Create(CultureInfo.InvariantCulture,
            $"seed {seed}: {requests} requests, {serverErrors} 5xx, {withoutCode} 4xx without a problem and a code, {unanswered} unanswered, {refusedByKestrel} refused by Kestrel before the app");
}
