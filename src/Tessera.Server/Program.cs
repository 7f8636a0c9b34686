using Tessera.Server.Hosting;

// The content root is the program's own folder (not the working directory), so its settings and assets are found
// whichever directory it is started from.
var builder = TesseraHost.CreateBuilder(args);

// Core services, the configured store (SQLite in ./data by default) and the HTTP plumbing.
builder.AddTesseraServer();

var app = builder.Build();

// Problems with a code for every error, then the v1 API, the event stream and the operations endpoints.
app.UseTesseraServer();
app.MapTesseraApi();

// Schema migrations and the bootstrap admin run before the first request is served.
await app.InitializeTesseraAsync();
await app.RunAsync();

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
