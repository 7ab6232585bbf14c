"""CI/CD providers behind one interface (§7): GitHub Actions, GitLab, Jenkins, Argo CD, and the sandbox."""
