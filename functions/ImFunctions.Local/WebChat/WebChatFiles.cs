using Microsoft.Extensions.FileProviders;

namespace ImFunctions.Local.WebChat;

/// <summary>
/// The web chat at <c>/</c>: static files built from clients/web (tests/run.sh or <c>npm run build:web</c> in clients/js)
/// into this project's <c>webchat/</c> folder and copied beside the app. Only the local host serves it.
/// </summary>
public static class WebChatFiles
{
    public static void MapWebChat(this WebApplication app)
    {
        var folder = new[] { app.Configuration["WebChat:Path"], System.IO.Path.Combine(app.Environment.ContentRootPath, "webchat"), System.IO.Path.Combine(AppContext.BaseDirectory, "webchat") }
            .FirstOrDefault(p => p is not null && File.Exists(System.IO.Path.Combine(p, "index.html")));
        if (folder is null)
        {
            app.MapGet("/", () => Results.Text(
                "ImFunctions is running. The web chat is not built: run 'npm ci && npm run build:web' in clients/js, then rebuild and restart (tests/run.sh does this). API reference: /scalar",
                "text/plain; charset=utf-8"));
            return;
        }
        var files = new PhysicalFileProvider(System.IO.Path.GetFullPath(folder));
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            // The bundle's name does not change between builds: make browsers ask again.
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = "no-cache",
        });
    }
}
