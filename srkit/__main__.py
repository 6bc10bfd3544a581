from srkit.cli.app import main

main()
