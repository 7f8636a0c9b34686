using Tessera.Server.Authentication;
using Tessera.Server.ExternalLogin;
using Tessera.Server.Hosting;
using Tessera.Server.Http;

// The content root is the program's own folder (not the working directory), so its settings and assets are found
// whichever directory it is started from.
var builder = TesseraHost.CreateBuilder(args);

builder.AddTesseraCore();      // sessions, passwords, rate limits, admins; the data directory and trusted proxies
builder.AddTesseraStorage();   // the store Tessera:Storage:Provider names: SQLite in the data directory, or PostgreSQL
builder.AddTesseraCluster();   // Redis, when Tessera:Redis:Configuration is set
builder.AddTesseraApi();       // event streams, metrics, OpenAPI, readiness
builder.AddTesseraHttp();      // the body limit, strict JSON, problems with a code
builder.AddTesseraSessions();  // the Tessera scheme (the relying apps' handler) over the session cache, and its policies
builder.AddTesseraExternalLogin(); // one OpenID Connect scheme per configured provider (Google, others)
builder.AddTesseraWeb();       // the web console: pages, antiforgery, the key ring

var app = builder.Build();
app.ValidateTesseraSettings();                         // every bad setting in one failure, before any is read

app.UseTrustedProxies();                               // first: every later step sees the same client
app.Use(ResponseHeaders.InvokeAsync);                  // no-store and nosniff, on problems too
app.UseTesseraProblems();                              // exceptions and empty 4xx/5xx become problems with a code
app.Use(RequestGuard.InvokeAsync);                     // size, charset, NUL and form checks before anything reads
app.UseAuthentication();                               // (no default scheme: nothing is read here)
app.UseAuthorization();                                // endpoints that need a session: the Tessera scheme reads it
app.UseTesseraStaticFiles();
app.UseTesseraErrorPages();                            // a page, not problem JSON, for a browser asking for a page
app.MapTesseraApi();
app.MapTesseraWeb();

// Schema migrations and the bootstrap admin run before the first request is served.
await app.InitializeTesseraAsync();
await app.RunAsync();

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
