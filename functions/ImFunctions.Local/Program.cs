using ImFunctions.Local;

var app = await ImFunctionsApp.CreateAsync(args);
await app.RunAsync();

public partial class Program;
