using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tessera.Core;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Operations;

/// <summary>
/// docs/api.md against the running server: every route of the OpenAPI document is documented with its errors, and
/// the error codes the docs name are the code base's.
/// </summary>
/// <remarks>
/// The convention these tests read (docs/api.md says it too, under "Errors any route can give"): a route is a row of a
/// route table whose first cell is <c>`METHOD /path`</c> (a query string after the path is allowed), and whose last
/// cell, <em>errors (status code)</em>, names each error the route adds as a status followed by its code in
/// backquotes, <c>404 `not_found`</c>, or is <c>—</c> when it adds none to the errors every route can give.
/// Every code is in the table of "Error codes", with its status.
/// </remarks>
public sealed partial class ApiDocumentationTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task Every_route_of_the_OpenAPI_document_is_in_docs_api_md_with_its_errors()
    {
        var documented = ApiDocs.Load();
        using var client = _app.Anonymous();
        var openApi = JsonDocument.Parse(await (await client.Get("/openapi/v1.json")).ReadTextAsync()).RootElement;

        var problems = new List<string>();
        var served = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in openApi.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => Methods.Contains(o.Name, StringComparer.Ordinal)))
            {
                var route = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                served.Add(route);
                if (!documented.Routes.TryGetValue(route, out var errors))
                {
                    problems.Add($"{route} is served but has no row in docs/api.md");
                    continue;
                }

                if (errors.Codes.Count == 0 && !errors.SaysNone)
                {
                    problems.Add($"{route}: its errors cell names no `code` (write 404 `not_found`, or — when it adds none): {errors.Cell}");
                }

                foreach (var (status, code) in errors.Codes)
                {
                    if (!documented.Codes.TryGetValue(code, out var statuses))
                    {
                        problems.Add($"{route}: `{code}` is not in the table of error codes");
                    }
                    else if (!statuses.Contains(status))
                    {
                        problems.Add($"{route}: {status} `{code}`, but the table of error codes gives `{code}` {string.Join(" / ", statuses)}");
                    }
                }
            }
        }

        // And the other way: an API route in the docs that the server no longer serves.
        problems.AddRange(documented.Routes.Keys
            .Where(route => route.Split(' ')[1].StartsWith("/v1/", StringComparison.Ordinal) && !served.Contains(route))
            .Select(route => $"{route} has a row in docs/api.md but is not in the OpenAPI document"));

        Assert.True(served.Count > 20, $"the OpenAPI document has only {served.Count} operations");
        Assert.True(problems.Count == 0, "docs/api.md and the server disagree:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void Every_error_code_of_the_code_base_is_in_docs_api_md_and_every_documented_code_is_in_the_code_base()
    {
        var documented = ApiDocs.Load().Codes.Keys.ToHashSet(StringComparer.Ordinal);
        var raised = typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToList();

        // The codes the server adds to the core's (Problems, the exception handler, the CSRF check) are string
        // literals in its source: each documented code must be one somewhere in src.
        var source = string.Join("\n", Directory.EnumerateFiles(Path.Combine(ApiDocs.RepositoryRoot, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText));

        Assert.True(raised.Count > 10, $"ErrorCodes has only {raised.Count} codes");
        var undocumented = raised.Where(code => !documented.Contains(code)).ToList();
        Assert.True(undocumented.Count == 0, "ErrorCodes not in the error codes of docs/api.md: " + string.Join(", ", undocumented));
        var unknown = documented.Where(code => !source.Contains($"\"{code}\"", StringComparison.Ordinal)).ToList();
        Assert.True(unknown.Count == 0, "codes in docs/api.md that no source file in src names: " + string.Join(", ", unknown));
    }

    [Fact]
    public void The_reader_of_docs_api_md_finds_the_routes_and_codes_as_written()
    {
        var docs = ApiDocs.Parse("""
            | method and path | body | success | errors (status code) |
            |---|---|---|---|
            | `GET /v1/things?page=` *session* | — | `200 {things}` | 400 `validation_failed` (`page` < 1); 404 `not_found` |
            | `POST /v1/things/{id}/poke` | — | `204` | — |
            | `DELETE /v1/things/{id}` | — | `204` | only when `id` is odd |

            ## Error codes

            | `code` | status | when |
            |---|---|---|
            | `validation_failed` | 400 | bad |
            | `account_banned` | 401 / 403 | banned |
            """);

        Assert.Equal([(400, "validation_failed"), (404, "not_found")], docs.Routes["GET /v1/things"].Codes);
        Assert.True(docs.Routes["POST /v1/things/{id}/poke"].SaysNone);
        Assert.Empty(docs.Routes["DELETE /v1/things/{id}"].Codes);
        Assert.False(docs.Routes["DELETE /v1/things/{id}"].SaysNone);
        Assert.Equal([401, 403], docs.Codes["account_banned"]);
    }

    /// <summary>The routes and error codes of docs/api.md.</summary>
    internal sealed partial record ApiDocs(IReadOnlyDictionary<string, RouteErrors> Routes, IReadOnlyDictionary<string, IReadOnlyList<int>> Codes)
    {
        public static string RepositoryRoot { get; } = FindRoot();

        public static ApiDocs Load() => Parse(File.ReadAllText(Path.Combine(RepositoryRoot, "docs", "api.md")));

        public static ApiDocs Parse(string markdown)
        {
            var routes = new Dictionary<string, RouteErrors>(StringComparer.Ordinal);
            var codes = new Dictionary<string, IReadOnlyList<int>>(StringComparer.Ordinal);
            var inCodeTable = false;
            foreach (var line in markdown.Split('\n').Select(l => l.TrimEnd('\r')))
            {
                if (line.StartsWith('#'))
                {
                    inCodeTable = line.Trim() == "## Error codes";
                    continue;
                }

                if (!line.StartsWith("| `", StringComparison.Ordinal))
                {
                    continue;
                }

                var cells = line.Trim('|').Split('|').Select(c => c.Trim()).ToArray();
                if (RouteCell().Match(cells[0]) is { Success: true } route)
                {
                    var errors = cells[^1];
                    routes[$"{route.Groups[1].Value} {route.Groups[2].Value}"] = new RouteErrors(
                        errors,
                        [.. StatusAndCode().Matches(errors).Select(m => (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups[2].Value))],
                        errors.StartsWith('—'));
                }
                else if (inCodeTable && CodeCell().Match(cells[0]) is { Success: true } code)
                {
                    codes[code.Groups[1].Value] = [.. Status().Matches(cells[1]).Select(m => int.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture))];
                }
            }

            return new ApiDocs(routes, codes);
        }

        private static string FindRoot()
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Tessera.slnx")))
                {
                    return directory.FullName;
                }
            }

            throw new InvalidOperationException($"No Tessera.slnx above {AppContext.BaseDirectory}: the tests read docs/api.md from the repository.");
        }

        [GeneratedRegex(@"^`(GET|PUT|POST|DELETE|OPTIONS|HEAD|PATCH|TRACE) (/[^`?\s]*)(?:\?[^`]*)?`")]
        private static partial Regex RouteCell();

        [GeneratedRegex(@"^`([a-z]+(?:_[a-z]+)*)`$")]
        private static partial Regex CodeCell();

        [GeneratedRegex(@"\b([1-5][0-9]{2}) `([a-z]+(?:_[a-z]+)*)`")]
        private static partial Regex StatusAndCode();

        [GeneratedRegex(@"\b[1-5][0-9]{2}\b")]
        private static partial Regex Status();
    }

    /// <summary>A route's errors cell: the codes it names with their status, and whether it says it adds none (—).</summary>
    internal sealed record RouteErrors(string Cell, IReadOnlyList<(int Status, string Code)> Codes, bool SaysNone);
}
