namespace ImFunctions.Tests.Support;

/// <summary>Linux nice values, read from /proc: a thread's (<c>/proc/thread-self/stat</c>, <c>/proc/PID/task/TID/stat</c>) or the process's.</summary>
public static class NiceValues
{
    public static int Of(string statPath)
    {
        // The command name, in parentheses, may hold spaces: fields are counted after its closing one. Nice is field 19.
        var stat = File.ReadAllText(statPath);
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16]);
    }

    public static int OfProcess() => Of($"/proc/{Environment.ProcessId}/stat");
}
